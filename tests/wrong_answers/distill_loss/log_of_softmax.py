"""Takes torch.log of the softmax: −inf where a probability underflows, then 0 · (−inf) = NaN."""
import torch


def distill_loss(student_logits, teacher_logits, T):
    p = torch.softmax(teacher_logits / T, dim=-1)
    q = torch.softmax(student_logits / T, dim=-1)
    return (p * (torch.log(p) - torch.log(q))).sum() / student_logits.shape[0] * T**2
