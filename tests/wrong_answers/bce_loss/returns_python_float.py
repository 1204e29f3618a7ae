"""Returns loss.item(), a Python float, instead of a 0-d tensor."""
import torch


def bce_loss(y_pred, y_true):
    log_p = torch.log(y_pred).clamp(min=-100)
    log_q = torch.log(1 - y_pred).clamp(min=-100)
    return -(y_true * log_p + (1 - y_true) * log_q).mean().item()
