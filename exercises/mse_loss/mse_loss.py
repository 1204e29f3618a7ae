"""Exercise: the mean squared error loss."""

import torch


def mse_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """Mean squared error: the average over every element of (y_pred − y_true)².

        MSE = (1 / N) · Σ_i (y_pred_i − y_true_i)²,   N = number of elements

    Equal to ``torch.nn.functional.mse_loss(y_pred, y_true)`` (reduction "mean") for inputs of the
    same shape.

    Args:
        y_pred: predictions, any shape (0-d included) with at least one element, float32 or
            float64, on any device, possibly non-contiguous.
        y_true: targets, the same shape, dtype and device as ``y_pred``.

    Returns:
        A new 0-d tensor (shape ``()``) with the inputs' dtype and device. Neither input is modified.

    Raises:
        ValueError: if ``y_pred.shape != y_true.shape``. torch's own function only warns and then
            broadcasts, so (n, 1) predictions against (n,) targets silently average an (n, n)
            matrix of wrong differences; this exercise refuses instead.

    Forbidden: ``torch.nn.functional.mse_loss``, ``torch.nn.MSELoss`` — by any route.
    """
    raise NotImplementedError
