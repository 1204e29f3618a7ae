"""Averages with keepdim=True over the flattened errors: shape (1,) instead of ()."""
import torch


def mse_loss(y_pred, y_true):
    if y_pred.shape != y_true.shape:
        raise ValueError("shapes differ")
    return ((y_pred - y_true) ** 2).reshape(-1).mean(dim=0, keepdim=True)
