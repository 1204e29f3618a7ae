"""Divides the summed loss by the batch size (len) instead of the number of elements."""
import torch


def bce_loss(y_pred, y_true):
    log_p = torch.log(y_pred).clamp(min=-100)
    log_q = torch.log(1 - y_pred).clamp(min=-100)
    return -(y_true * log_p + (1 - y_true) * log_q).sum() / len(y_pred)
