"""Calls torch.nn.functional.mse_loss, which the exercise forbids."""
import torch.nn.functional as F


def mse_loss(y_pred, y_true):
    if y_pred.shape != y_true.shape:
        raise ValueError("shapes differ")
    return F.mse_loss(y_pred, y_true)
