"""Divides only the teacher's logits by T; the student's stay at temperature 1."""
import torch


def distill_loss(student_logits, teacher_logits, T):
    log_q = torch.log_softmax(student_logits, dim=-1)
    log_p = torch.log_softmax(teacher_logits / T, dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum() / student_logits.shape[0] * T**2
