"""Subtracts the maximum of the whole tensor instead of each slice's: slices far below it underflow to 0 / 0."""
import torch


def softmax(x, dim=-1):
    e = torch.exp(x - x.max())
    return e / e.sum(dim=dim, keepdim=True)
