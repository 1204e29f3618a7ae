"""Reference solution: rotary position embedding, interleaved pairs."""

import torch


def rope(x: torch.Tensor, positions: torch.Tensor, theta: float = 10000.0) -> torch.Tensor:
    """Rotate each adjacent pair (2i, 2i+1) of the last dimension by positions[t] · theta^(-2i/d)."""
    d = x.shape[-1]
    i = torch.arange(0, d, 2, dtype=x.dtype, device=x.device)  # (d/2,) holds 2i
    freq = theta ** (-i / d)  # (d/2,)
    angle = positions.to(x.dtype)[:, None] * freq  # (T, d/2)
    cos, sin = torch.cos(angle), torch.sin(angle)
    even, odd = x[..., 0::2], x[..., 1::2]  # (..., T, d/2)
    out = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)  # (..., T, d/2, 2)
    return out.flatten(-2)
