"""Multiplies by complex64 rotations: float64 inputs come back as float32."""
import torch


def rope(x, positions, theta=10000.0):
    d = x.shape[-1]
    freq = theta ** (-torch.arange(0, d, 2, device=x.device).float() / d)
    angle = positions.float()[:, None] * freq
    z = torch.view_as_complex(x.float().reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(z * torch.polar(torch.ones_like(angle), angle)).flatten(-2)
