"""No clamp at -100: log(0) = -inf gives an infinite loss, and 0 * -inf gives NaN."""
import torch


def bce_loss(y_pred, y_true):
    return -(y_true * torch.log(y_pred) + (1 - y_true) * torch.log(1 - y_pred)).mean()
