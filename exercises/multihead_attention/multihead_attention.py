"""Exercise: multi-head self-attention with a causal option."""

import torch


def multihead_attention(x: torch.Tensor, Wq: torch.Tensor, Wk: torch.Tensor, Wv: torch.Tensor,
                        Wo: torch.Tensor, n_heads: int, causal: bool = True) -> torch.Tensor:
    """Multi-head self-attention over a batch of sequences, without biases.

    Projections follow the ``nn.Linear`` convention (``y = x @ W.T``)::

        q, k, v = x @ Wq.T, x @ Wk.T, x @ Wv.T          # each (B, T, d_model)

    Heads split the last dimension contiguously: with ``dh = d_model // n_heads``, head ``h``
    owns features ``h*dh : (h+1)*dh`` of ``q``, ``k`` and ``v`` (``q.view(B, T, n_heads, dh)``).
    Each head attends on its own::

        out_h = softmax(q_h @ k_h^T / sqrt(dh) + mask) @ v_h      # (B, T, dh)

    where, if ``causal``, position ``t`` attends to positions ``s <= t`` only (itself included),
    and otherwise to every position. The heads are concatenated back in order, feature
    ``h*dh + j`` of the result coming from feature ``j`` of head ``h``, and projected::

        y = concat(out_0, ..., out_{n_heads-1}) @ Wo.T       # (B, T, d_model)

    Args:
        x: the input, shape ``(B, T, d_model)``, float32 or float64, on any device.
        Wq, Wk, Wv, Wo: weights of shape ``(d_model, d_model)``, ``x``'s dtype and device,
            in ``nn.Linear`` convention (``out_features, in_features``).
        n_heads: a Python int that divides ``d_model``.
        causal: a Python bool; True masks the future (an autoregressive decoder).

    Returns:
        A new tensor of shape ``(B, T, d_model)`` with ``x``'s dtype and device. No input is
        modified. Scores of large magnitude must not overflow (softmax must be stable).

    Forbidden: ``torch.nn.functional.scaled_dot_product_attention`` (and its ATen kernels),
    ``torch.nn.MultiheadAttention``, ``torch.nn.functional.multi_head_attention_forward`` —
    however they are reached. ``torch.softmax`` is allowed, and so is importing your own
    ``attention`` exercise (``from attention import attention``) if your submission has it.
    """
    raise NotImplementedError
