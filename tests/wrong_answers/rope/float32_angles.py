"""Computes frequencies and angles in float32 whatever the input dtype: float64 inputs lose precision."""
import torch


def rope(x, positions, theta=10000.0):
    d = x.shape[-1]
    freq = theta ** (-torch.arange(0, d, 2, device=x.device).float() / d)
    angle = positions.float()[:, None] * freq
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), -1).flatten(-2)
