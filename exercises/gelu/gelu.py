"""Exercise: the exact GELU activation."""

import torch


def gelu(x: torch.Tensor) -> torch.Tensor:
    """Gaussian error linear unit, the exact (erf) form, applied to every element.

    ``gelu(x) = x * Φ(x)`` where ``Φ`` is the standard normal CDF::

        Φ(x) = (1 + erf(x / sqrt(2))) / 2

    This is ``torch.nn.functional.gelu(x)`` with its default ``approximate='none'``; the tanh
    approximation ``0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))`` differs by up to ~5e-4 and
    does not pass.

    Args:
        x: a tensor of any shape (0-d included), float32 or float64, on any device. Every finite
            input gives a finite result: ±1e4 included (gelu(-1e4) = 0, gelu(1e4) = 1e4).

    Returns:
        A new tensor shaped like ``x``, with its dtype and device. ``x`` is left unchanged.

    Forbidden: ``torch.nn.functional.gelu``, ``torch.nn.GELU`` and the ATen ``gelu`` kernel —
    however they are reached. ``torch.erf`` (and ``torch.special.erf``, ``erfc``) is allowed.
    """
    raise NotImplementedError
