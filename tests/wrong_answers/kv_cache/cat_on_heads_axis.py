"""Concatenates the new key and value on the heads axis (dim 1) instead of time (dim 2)."""

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
    K = torch.cat((cache_k, k), dim=1)
    V = torch.cat((cache_v, v), dim=1)
    # No mask: the single query is the newest position, and it may see every cached one and itself.
    scores = q @ K[:, -n_heads:].transpose(-2, -1) / math.sqrt(dh)
    out = torch.softmax(scores, dim=-1) @ V[:, -n_heads:]
    return out.transpose(1, 2).reshape(B, 1, d_model) @ Wo.T, K, V
