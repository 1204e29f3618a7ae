"""Divides by the root of the sum of squares (the L2 norm), not of their mean."""
import torch


def rms_norm(x, weight, eps=1e-5):
    return x / torch.sqrt((x * x).sum(dim=-1, keepdim=True) + eps) * weight
