"""Reaches the forbidden kernel through torch.ops.aten."""
import torch


def gelu(x):
    return torch.ops.aten.gelu.default(x)
