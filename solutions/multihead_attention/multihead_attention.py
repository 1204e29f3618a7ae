"""Reference solution: multi-head self-attention."""

import math

import torch


def multihead_attention(x: torch.Tensor, Wq: torch.Tensor, Wk: torch.Tensor, Wv: torch.Tensor,
                        Wo: torch.Tensor, n_heads: int, causal: bool = True) -> torch.Tensor:
    """Project, split heads contiguously, attend per head, merge and project with Wo."""
    B, T, d_model = x.shape
    dh = d_model // n_heads

    def heads(w: torch.Tensor) -> torch.Tensor:
        return (x @ w.T).view(B, T, n_heads, dh).transpose(1, 2)  # (B, H, T, dh)

    q, k, v = heads(Wq), heads(Wk), heads(Wv)
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(dh))  # (B, H, T, T)
    if causal:
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)  # s > t
        scores = scores.masked_fill(future, float("-inf"))  # the diagonal stays: no row is empty
    out = torch.softmax(scores, dim=-1) @ v  # (B, H, T, dh)
    return out.transpose(1, 2).reshape(B, T, d_model) @ Wo.T
