"""Reference solution: the SwiGLU feed-forward layer."""

import torch


def swiglu(x: torch.Tensor, W1: torch.Tensor, W2: torch.Tensor, W3: torch.Tensor) -> torch.Tensor:
    """(SiLU(x W1ᵀ) ⊙ x W3ᵀ) W2ᵀ over the last dimension of ``x``."""
    a = x @ W1.T  # (..., d_ff)
    # z · σ(z): σ saturates to exactly 0 or 1 at the extremes, so the product never turns into NaN.
    gate = a * torch.sigmoid(a)
    return (gate * (x @ W3.T)) @ W2.T  # (..., d_model)
