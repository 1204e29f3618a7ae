"""Precomputes cos/sin for T positions and indexes them by position: fails once positions reach T."""
import torch


def rope(x, positions, theta=10000.0):
    d, T = x.shape[-1], x.shape[-2]
    freq = theta ** (-torch.arange(0, d, 2, dtype=x.dtype, device=x.device) / d)
    table = torch.arange(T, dtype=x.dtype, device=x.device)[:, None] * freq  # (T, d/2)
    angle = table[positions]
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * angle.cos() - odd * angle.sin(), even * angle.sin() + odd * angle.cos()), -1).flatten(-2)
