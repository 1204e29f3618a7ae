"""Exercise: the logistic sigmoid."""

import torch


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Elementwise logistic function σ(x) = 1 / (1 + exp(−x)).

    Args:
        x: a tensor of any shape (0-d included), float32 or float64, on any device.

    Returns:
        A new tensor shaped like ``x``, with its dtype and device, holding σ(x). Every finite
        input gives a finite result in [0, 1]: x = -1e4 gives 0 and x = 1e4 gives 1, never NaN.
        ``x`` itself is left unchanged.

    Very negative inputs give tiny results with full relative precision (σ(−50) ≈ 1.9e−22, not 0),
    as torch.sigmoid does.

    Forbidden: ``torch.sigmoid``, ``Tensor.sigmoid``, ``torch.special.expit``,
    ``torch.nn.functional.sigmoid``, ``torch.nn.Sigmoid``, and log-sigmoid (``F.logsigmoid``,
    ``torch.nn.LogSigmoid``) — however they are reached.
    """
    raise NotImplementedError
