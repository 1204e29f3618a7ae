"""Reference solution: one step of the Adam optimiser."""

import math

import torch


def adam_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int,
              lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
              eps: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """param − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + eps) with the moments updated first; all new tensors."""
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * grad * grad
    # Python floats for the corrections: exact in double whatever t, and they keep the tensors' dtype.
    step_size = lr / (1.0 - beta1 ** t)
    denom = v.sqrt() / math.sqrt(1.0 - beta2 ** t) + eps  # eps after the root and the correction
    return param - step_size * m / denom, m, v
