"""Squares the input in place to save memory: the caller's tensor is overwritten."""
import torch


def rms_norm(x, weight, eps=1e-5):
    original = x.clone()
    ms = x.mul_(x).mean(dim=-1, keepdim=True)
    return original / torch.sqrt(ms + eps) * weight
