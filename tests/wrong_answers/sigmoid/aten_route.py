"""Reaches the forbidden op through torch.ops.aten."""
import torch


def sigmoid(x):
    return torch.ops.aten.sigmoid.default(x)
