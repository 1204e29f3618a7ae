"""RoPE in the GPT-NeoX "rotate half" layout: pairs feature i with i + dh/2 instead of (2i, 2i+1)."""

import math

import torch


def _rms_norm(z: torch.Tensor, gain: torch.Tensor, eps: float) -> torch.Tensor:
    return z * torch.rsqrt(z.pow(2).mean(dim=-1, keepdim=True) + eps) * gain


def _rope(z: torch.Tensor, theta: float) -> torch.Tensor:
    """Rotate adjacent pairs of the last dim of ``z`` (B, H, T, dh) by position t · θ^(−2i/dh)."""
    T, dh = z.shape[-2], z.shape[-1]
    freq = theta ** (-torch.arange(0, dh, 2, dtype=z.dtype, device=z.device) / dh)  # (dh/2,)
    angle = torch.arange(T, dtype=z.dtype, device=z.device)[:, None] * freq  # (T, dh/2)
    cos, sin = angle.cos(), angle.sin()
    even, odd = z[..., : dh // 2], z[..., dh // 2:]  # first and second halves
    return torch.cat((even * cos - odd * sin, even * sin + odd * cos), dim=-1)


def _attention(z: torch.Tensor, w: dict, n_heads: int, theta: float) -> torch.Tensor:
    B, T, d_model = z.shape
    dh = d_model // n_heads
    q, k, v = ((z @ w[name].T).view(B, T, n_heads, dh).transpose(1, 2) for name in ("wq", "wk", "wv"))
    q, k = _rope(q, theta), _rope(k, theta)  # (B, H, T, dh)
    scores = q @ k.transpose(-2, -1) / math.sqrt(dh)  # (B, H, T, T)
    future = torch.ones(T, T, dtype=torch.bool, device=z.device).triu(1)
    scores = scores.masked_fill(future, float("-inf"))  # the diagonal stays: row 0 is never all -inf
    out = torch.softmax(scores, dim=-1) @ v  # (B, H, T, dh); torch.softmax subtracts the row max
    return out.transpose(1, 2).reshape(B, T, d_model) @ w["wo"].T


def _swiglu(z: torch.Tensor, w: dict) -> torch.Tensor:
    a = z @ w["w1"].T  # (B, T, d_ff)
    return (a * torch.sigmoid(a) * (z @ w["w3"].T)) @ w["w2"].T


def transformer_block(x: torch.Tensor, weights: dict[str, torch.Tensor], n_heads: int,
                      eps: float = 1e-5, theta: float = 10000.0) -> torch.Tensor:
    """h = x + attention(rms_norm(x)); out = h + swiglu(rms_norm(h))."""
    h = x + _attention(_rms_norm(x, weights["ln1"], eps), weights, n_heads, theta)
    return h + _swiglu(_rms_norm(h, weights["ln2"], eps), weights)
