"""Computes in float32 and casts back: float64 inputs lose their precision."""
import torch


def softmax(x, dim=-1):
    x32 = x.to(torch.float32)
    e = torch.exp(x32 - x32.amax(dim=dim, keepdim=True))
    return (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)
