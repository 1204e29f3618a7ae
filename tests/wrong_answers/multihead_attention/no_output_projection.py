"""Forgets the output projection Wo."""
import math

import torch


def multihead_attention(x, Wq, Wk, Wv, Wo, n_heads, causal=True):
    B, T, d = x.shape
    dh = d // n_heads
    q, k, v = ((x @ w.T).view(B, T, n_heads, dh).transpose(1, 2) for w in (Wq, Wk, Wv))
    s = q @ k.transpose(-2, -1) / math.sqrt(dh)
    if causal:
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
    return (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, d)
