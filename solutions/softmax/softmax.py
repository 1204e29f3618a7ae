"""Reference solution: a numerically stable softmax."""

import torch


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax along ``dim`` with the slice maximum subtracted first."""
    # Per-slice maximum, kept as a size-1 dimension so it broadcasts back over the slice.
    m = x.amax(dim=dim, keepdim=True)
    e = torch.exp(x - m)  # every entry in [0, 1]; -inf entries give exactly 0
    return e / e.sum(dim=dim, keepdim=True)
