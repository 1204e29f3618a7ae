"""Exercise: one decoding step of grouped-query attention (GQA) with RoPE and a key/value cache."""

import torch


def gqa_decode(x_t: torch.Tensor, cache_k: torch.Tensor, cache_v: torch.Tensor, Wq: torch.Tensor,
               Wk: torch.Tensor, Wv: torch.Tensor, Wo: torch.Tensor, n_heads: int, n_kv_heads: int,
               theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Llama-style attention of ONE new token: H query heads share G key/value heads, RoPE, a cache.

    With ``dh = d_model // n_heads`` and ``group = n_heads // n_kv_heads``, the new token sits at
    position ``p = T_past`` (the number of cached positions, counted from 0)::

        q = x_t @ Wq.T -> (B, H, 1, dh)      k = x_t @ Wk.T, v = x_t @ Wv.T -> (B, G, 1, dh)
        q, k = rope(q, p), rope(k, p)          # adjacent pairs (2i, 2i+1), freq theta^(-2i/dh);
                                               # v is NOT rotated
        K = cat(cache_k, k) along time,  V = cat(cache_v, v) along time   # (B, G, T_past+1, dh)
        out[h] = softmax(q[h] @ K[h // group]^T / sqrt(dh)) @ V[h // group]   # (B, H, 1, dh)
        y_t = merge heads of out @ Wo.T        # (B, 1, d_model), head h owns features h*dh:(h+1)*dh

    Query head h reads key/value head ``h // group``: consecutive query heads share a key/value
    head, as ``K.repeat_interleave(group, dim=1)`` (not ``K.repeat(1, group, 1, 1)``) would give.
    The new token attends to every cached position and to itself (no mask).

    Args:
        x_t: the new token's hidden state, shape (B, 1, d_model), float32 or float64, any device.
        cache_k: keys of the T_past previous positions, shape (B, n_kv_heads, T_past, dh), already
            projected, split into heads and rotated by RoPE at their own positions 0..T_past-1.
            T_past may be 0 (the first step). Possibly non-contiguous. Same dtype and device as x_t.
        cache_v: values of the previous positions, same shape as ``cache_k`` (never rotated).
        Wq: (n_heads * dh, d_model) = (d_model, d_model), ``nn.Linear`` convention ``y = x @ W.T``.
        Wk, Wv: (n_kv_heads * dh, d_model).
        Wo: (d_model, n_heads * dh) = (d_model, d_model).
        n_heads: H, a Python int dividing d_model, with dh = d_model // n_heads even.
        n_kv_heads: G, a Python int dividing n_heads (G = H is multi-head, G = 1 multi-query attention).
        theta: the RoPE base, a Python float.

    Returns:
        ``(y_t, cache_k, cache_v)``: the output for the new token, shape (B, 1, d_model), and the
        grown caches, shape (B, n_kv_heads, T_past + 1, dh), the new rotated key and the new value
        appended as the last time position. New tensors with x_t's dtype and device (RoPE angles in
        that dtype); the inputs are left unchanged. Scores of large magnitude must not overflow.

    Forbidden: ``torch.nn.functional.scaled_dot_product_attention`` (and its ATen kernels),
    ``torch.nn.MultiheadAttention``, ``torch.nn.functional.multi_head_attention_forward``.
    ``torch.softmax``, ``torch.cat`` and ``repeat_interleave`` are allowed.
    """
    raise NotImplementedError
