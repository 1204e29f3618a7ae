"""Exercise: one autoregressive decoding step of multi-head attention with a key/value cache."""

import torch


def decode_step(x_t: torch.Tensor, cache_k: torch.Tensor, cache_v: torch.Tensor, Wq: torch.Tensor,
                Wk: torch.Tensor, Wv: torch.Tensor, Wo: torch.Tensor,
                n_heads: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Causal multi-head self-attention for ONE new token, reusing the keys and values of the past.

    Same attention as the ``multihead_attention`` exercise (no biases, no RoPE, ``nn.Linear``
    convention ``y = x @ W.T``, heads split contiguously with ``dh = d_model // n_heads``)::

        q, k, v = x_t @ Wq.T, x_t @ Wk.T, x_t @ Wv.T       # (B, 1, d_model) each
        q, k, v -> (B, n_heads, 1, dh)                      # head h owns features h*dh:(h+1)*dh
        K = cat(cache_k, k) along time,  V = cat(cache_v, v) along time    # (B, n_heads, T_past+1, dh)
        out = softmax(q @ K^T / sqrt(dh)) @ V              # (B, n_heads, 1, dh): the new token sees
                                                           # every cached position and itself
        y_t = merge heads of out @ Wo.T                     # (B, 1, d_model)

    The result equals the last position of causal multi-head attention over the whole sequence so
    far (the T_past tokens that filled the cache, then x_t), at the cost of one token's projections.

    Args:
        x_t: the new token's input, shape (B, 1, d_model), float32 or float64, on any device.
        cache_k: the keys of the T_past previous positions, shape (B, n_heads, T_past, dh), already
            projected by Wk and split into heads; T_past may be 0 (the first step). Possibly
            non-contiguous. Same dtype and device as ``x_t``.
        cache_v: the values of the previous positions, same shape as ``cache_k``.
        Wq, Wk, Wv, Wo: weights of shape (d_model, d_model) in ``nn.Linear`` convention.
        n_heads: a Python int dividing d_model.

    Returns:
        ``(y_t, cache_k, cache_v)``: the output for the new token, shape (B, 1, d_model), and the
        grown caches, shape (B, n_heads, T_past + 1, dh), the new token's key and value appended
        as the last time position. All new tensors with ``x_t``'s dtype and device; the input
        caches are left unchanged. Scores of large magnitude must not overflow.

    Forbidden: ``torch.nn.functional.scaled_dot_product_attention`` (and its ATen kernels),
    ``torch.nn.MultiheadAttention``, ``torch.nn.functional.multi_head_attention_forward``.
    ``torch.softmax`` and ``torch.cat`` are allowed.
    """
    raise NotImplementedError
