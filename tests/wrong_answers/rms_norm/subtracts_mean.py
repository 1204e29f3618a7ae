"""Centres the rows first, as layer norm does: RMS norm keeps the mean."""
import torch


def rms_norm(x, weight, eps=1e-5):
    c = x - x.mean(dim=-1, keepdim=True)
    return c / torch.sqrt((c * c).mean(dim=-1, keepdim=True) + eps) * weight
