"""Reference solution: layer normalisation over the last dimension."""

import torch


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """(x - mean) / sqrt(biased var + eps) * weight + bias, over the last dimension."""
    mu = x.mean(dim=-1, keepdim=True)  # (..., 1)
    centred = x - mu  # two passes: accurate even with a large common offset
    var = (centred * centred).mean(dim=-1, keepdim=True)  # biased
    return centred / torch.sqrt(var + eps) * weight + bias
