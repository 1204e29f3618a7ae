"""Builds the RoPE frequencies over d_model instead of the head dimension."""

import torch


def gqa_decode(x_t: torch.Tensor, cache_k: torch.Tensor, cache_v: torch.Tensor, Wq: torch.Tensor,
               Wk: torch.Tensor, Wv: torch.Tensor, Wo: torch.Tensor, n_heads: int, n_kv_heads: int,
               theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Project the new token, rotate its query and key at position T_past, grow the caches, attend."""
    B, _, d_model = x_t.shape
    dh = d_model // n_heads
    group = n_heads // n_kv_heads  # query heads per key/value head
    pos = cache_k.shape[2]  # the new token's position: the number of cached positions
    q = (x_t @ Wq.T).view(B, n_heads, dh)  # (B, H, dh): one position, so no transpose is needed
    k = (x_t @ Wk.T).view(B, n_kv_heads, 1, dh)  # (B, G, 1, dh)
    v = (x_t @ Wv.T).view(B, n_kv_heads, 1, dh)
    # RoPE at position pos on adjacent pairs (2i, 2i+1), angles in x's dtype; values are not rotated.
    freq = theta ** (-torch.arange(0, dh, 2, dtype=x_t.dtype, device=x_t.device) / d_model)  # (dh/2,)
    angle = pos * freq
    cos, sin = torch.cos(angle), torch.sin(angle)

    def rotate(t: torch.Tensor) -> torch.Tensor:
        even, odd = t[..., 0::2], t[..., 1::2]
        return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)

    q, k = rotate(q), rotate(k)
    K = torch.cat((cache_k, k), dim=2)  # (B, G, T_past + 1, dh): time is dim 2
    V = torch.cat((cache_v, v), dim=2)
    # Query head h reads key/value head h // group: group the H queries as (G, group) and let each
    # group share its K and V by broadcasting, without copying the cache group times.
    qg = q.view(B, n_kv_heads, group, dh)  # (B, G, group, dh)
    scores = qg @ K.transpose(-2, -1) * dh ** -0.5  # (B, G, group, T_past + 1)
    # No mask: the one query is the newest position and sees every cached position and itself.
    out = torch.softmax(scores, dim=-1) @ V  # (B, G, group, dh)
    return out.reshape(B, 1, n_heads * dh) @ Wo.T, K, V
