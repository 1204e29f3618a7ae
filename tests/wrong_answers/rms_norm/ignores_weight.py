"""Forgets the gain."""
import torch


def rms_norm(x, weight, eps=1e-5):
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps)
