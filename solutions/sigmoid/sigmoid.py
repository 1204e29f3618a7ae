"""Reference solution: the logistic sigmoid."""

import torch


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Elementwise σ(x) = 1 / (1 + exp(−x)), finite for every finite input."""
    # exp(-x) overflows to inf for x << 0, and 1 / (1 + inf) = 0 exactly: no NaN can appear.
    return 1.0 / (1.0 + torch.exp(-x))
