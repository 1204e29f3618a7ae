"""Rotates pairs (i, i + d/2), the rotate-half layout, instead of adjacent pairs (2i, 2i+1)."""
import torch


def rope(x, positions, theta=10000.0):
    d = x.shape[-1]
    freq = theta ** (-torch.arange(0, d, 2, dtype=x.dtype, device=x.device) / d)
    angle = positions.to(x.dtype)[:, None] * freq
    cos, sin = torch.cat([angle.cos()] * 2, -1), torch.cat([angle.sin()] * 2, -1)
    first, second = x[..., : d // 2], x[..., d // 2:]
    return x * cos + torch.cat([-second, first], dim=-1) * sin
