"""Squares the mean error instead of averaging the squared errors: signs cancel."""
import torch


def mse_loss(y_pred, y_true):
    if y_pred.shape != y_true.shape:
        raise ValueError("shapes differ")
    return (y_pred - y_true).mean() ** 2
