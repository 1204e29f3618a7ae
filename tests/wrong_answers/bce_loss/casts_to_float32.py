"""Converts the inputs with .float() "to be safe": float64 inputs give a float32 loss."""
import torch


def bce_loss(y_pred, y_true):
    p, y = y_pred.float(), y_true.float()
    log_p = torch.log(p).clamp(min=-100)
    log_q = torch.log(1 - p).clamp(min=-100)
    return -(y * log_p + (1 - y) * log_q).mean()
