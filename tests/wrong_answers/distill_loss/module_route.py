"""Uses the torch.nn.KLDivLoss module."""
import torch


def distill_loss(student_logits, teacher_logits, T):
    loss = torch.nn.KLDivLoss(reduction="batchmean", log_target=True)
    return loss(torch.log_softmax(student_logits / T, -1), torch.log_softmax(teacher_logits / T, -1)) * T**2
