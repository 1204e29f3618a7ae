"""Splits heads with view(B, T, dh, H): head h gets every H-th feature instead of a contiguous block."""
import math

import torch


def multihead_attention(x, Wq, Wk, Wv, Wo, n_heads, causal=True):
    B, T, d = x.shape
    dh = d // n_heads
    q, k, v = ((x @ w.T).view(B, T, dh, n_heads).permute(0, 3, 1, 2) for w in (Wq, Wk, Wv))
    s = q @ k.transpose(-2, -1) / math.sqrt(dh)
    if causal:
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
    out = torch.softmax(s, -1) @ v  # (B, H, T, dh)
    return out.permute(0, 2, 3, 1).reshape(B, T, d) @ Wo.T
