"""Reference solution: a LoRA linear layer, unmerged."""

import torch


def lora_linear(x: torch.Tensor, W: torch.Tensor, A: torch.Tensor, B: torch.Tensor, alpha: float) -> torch.Tensor:
    """x Wᵀ + (alpha / r) (x Aᵀ) Bᵀ: the update goes through the (..., r) bottleneck, never an (out, in) matrix."""
    r = A.shape[0]
    down = x @ A.T  # (..., r)
    return x @ W.T + (alpha / r) * (down @ B.T)  # (..., out)
