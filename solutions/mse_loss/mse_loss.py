"""Reference solution: the mean squared error loss."""

import torch


def mse_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """mean((y_pred − y_true)²) over every element, as a 0-d tensor; mismatched shapes raise ValueError."""
    if y_pred.shape != y_true.shape:
        raise ValueError(f"y_pred has shape {tuple(y_pred.shape)} but y_true has shape {tuple(y_true.shape)}")
    diff = y_pred - y_true
    return (diff * diff).mean()
