"""Clamps the predictions to [1e-7, 1 - 1e-7] (the Keras habit) instead of the logs to -100."""
import torch


def bce_loss(y_pred, y_true):
    p = y_pred.clamp(1e-7, 1 - 1e-7)
    return -(y_true * torch.log(p) + (1 - y_true) * torch.log(1 - p)).mean()
