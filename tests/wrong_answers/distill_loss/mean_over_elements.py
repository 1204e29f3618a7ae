"""Averages over every element (.mean(), i.e. reduction="mean") instead of dividing by the batch size."""
import torch


def distill_loss(student_logits, teacher_logits, T):
    log_q = torch.log_softmax(student_logits / T, dim=-1)
    log_p = torch.log_softmax(teacher_logits / T, dim=-1)
    return (log_p.exp() * (log_p - log_q)).mean() * T**2
