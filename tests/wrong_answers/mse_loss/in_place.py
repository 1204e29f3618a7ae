"""Subtracts in place: the caller's predictions are overwritten."""
import torch


def mse_loss(y_pred, y_true):
    if y_pred.shape != y_true.shape:
        raise ValueError("shapes differ")
    return y_pred.sub_(y_true).pow_(2).mean()
