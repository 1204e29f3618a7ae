"""Replaces log(0) by -100 but leaves logs of tiny non-zero predictions (below -100) unclamped."""
import torch


def bce_loss(y_pred, y_true):
    log_p = torch.where(y_pred == 0, -100.0, torch.log(y_pred))
    log_q = torch.where(y_pred == 1, -100.0, torch.log(1 - y_pred))
    return -(y_true * log_p + (1 - y_true) * log_q).mean()
