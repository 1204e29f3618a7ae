"""Replaces -inf entries by 0 "to avoid NaN": masked positions get a non-zero weight."""
import torch


def softmax(x, dim=-1):
    x = torch.where(torch.isinf(x), torch.zeros_like(x), x)
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)
