"""Reference solution: the exact GELU."""

import math

import torch


def gelu(x: torch.Tensor) -> torch.Tensor:
    """x · Φ(x) with Φ(x) = (1 + erf(x / √2)) / 2."""
    # Python floats keep the input's dtype (a float32 tensor constant would not).
    return 0.5 * x * (1.0 + torch.erf(x * (1.0 / math.sqrt(2.0))))
