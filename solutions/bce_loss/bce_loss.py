"""Reference solution: the binary cross-entropy loss."""

import torch


def bce_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """Mean over all elements of −(y·max(log p, −100) + (1−y)·max(log(1−p), −100)); 0-d."""
    # Clamp each log before weighting it: log(0) = -inf becomes -100 and 0 * -100 = 0, no NaN.
    log_p = torch.log(y_pred).clamp(min=-100.0)
    log_not_p = torch.log1p(-y_pred).clamp(min=-100.0)  # log(1 - p), accurate for small p
    return -(y_true * log_p + (1.0 - y_true) * log_not_p).mean()
