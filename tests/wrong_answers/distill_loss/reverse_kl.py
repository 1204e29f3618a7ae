"""Computes KL(student ‖ teacher): the student's q weights the log-ratio instead of the teacher's p."""
import torch


def distill_loss(student_logits, teacher_logits, T):
    log_q = torch.log_softmax(student_logits / T, dim=-1)
    log_p = torch.log_softmax(teacher_logits / T, dim=-1)
    return (log_q.exp() * (log_q - log_p)).sum() / student_logits.shape[0] * T**2
