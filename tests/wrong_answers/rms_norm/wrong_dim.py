"""Normalises over the first dimension instead of the last."""
import torch


def rms_norm(x, weight, eps=1e-5):
    return x / torch.sqrt((x * x).mean(dim=0, keepdim=True) + eps) * weight
