"""Reaches the library KL through torch.ops.aten.kl_div."""
import torch


def distill_loss(student_logits, teacher_logits, T):
    log_q = torch.log_softmax(student_logits / T, dim=-1)
    log_p = torch.log_softmax(teacher_logits / T, dim=-1)
    total = torch.ops.aten.kl_div(log_q, log_p, 0, True)  # reduction 0 = none, log_target
    return total.sum() / student_logits.shape[0] * T**2
