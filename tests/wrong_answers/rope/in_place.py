"""Writes the rotated pairs back into x: the caller's tensor is overwritten."""
import torch


def rope(x, positions, theta=10000.0):
    d = x.shape[-1]
    freq = theta ** (-torch.arange(0, d, 2, dtype=x.dtype, device=x.device) / d)
    angle = positions.to(x.dtype)[:, None] * freq
    even, odd = x[..., 0::2].clone(), x[..., 1::2].clone()
    x[..., 0::2] = even * angle.cos() - odd * angle.sin()
    x[..., 1::2] = even * angle.sin() + odd * angle.cos()
    return x
