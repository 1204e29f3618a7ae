"""Attends to the cached positions only, not to the new token itself (and appends it afterwards)."""

import math

import torch


def decode_step(x_t: torch.Tensor, cache_k: torch.Tensor, cache_v: torch.Tensor, Wq: torch.Tensor,
                Wk: torch.Tensor, Wv: torch.Tensor, Wo: torch.Tensor,
                n_heads: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Project the new token, append its key and value to the caches, attend over all of them."""
    B, _, d_model = x_t.shape
    dh = d_model // n_heads
    # (B, 1, d_model) -> (B, 1, H, dh) -> (B, H, 1, dh)
    q, k, v = ((x_t @ W.T).view(B, 1, n_heads, dh).transpose(1, 2) for W in (Wq, Wk, Wv))
    K = torch.cat((cache_k, k), dim=2)  # (B, H, T_past + 1, dh): time is dim 2
    V = torch.cat((cache_v, v), dim=2)
    # No mask: the single query is the newest position, and it may see every cached one and itself.
    scores = q @ cache_k.transpose(-2, -1) / math.sqrt(dh)  # (B, H, 1, T_past)
    out = torch.softmax(scores, dim=-1) @ cache_v
    return out.transpose(1, 2).reshape(B, 1, d_model) @ Wo.T, K, V
