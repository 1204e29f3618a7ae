"""Exercise: one pre-norm transformer block (LLaMA style)."""

import torch


def transformer_block(x: torch.Tensor, weights: dict[str, torch.Tensor], n_heads: int,
                      eps: float = 1e-5, theta: float = 10000.0) -> torch.Tensor:
    """A decoder block: causal multi-head self-attention with RoPE, then a SwiGLU feed-forward layer,
    each behind an RMSNorm and inside a residual connection (pre-norm)::

        h   = x + attention(rms_norm(x, weights["ln1"]))
        out = h + swiglu(rms_norm(h, weights["ln2"]))

    The pieces, all without biases and with weights in ``nn.Linear`` convention (``y = z @ W.T``):

    - ``rms_norm(z, g) = z / sqrt(mean(z ** 2, last dim) + eps) * g`` (eps inside the square root).
    - ``attention(z)``: ``q, k, v = z @ wq.T, z @ wk.T, z @ wv.T``, each (B, T, d_model), split
      into heads contiguously (head h owns features ``h*dh : (h+1)*dh``, ``dh = d_model // n_heads``,
      i.e. ``q.view(B, T, n_heads, dh).transpose(1, 2)``). RoPE rotates q and k (not v) of every head:
      adjacent pairs ``(2i, 2i+1)`` of the head's dh features, frequency ``theta ** (-2i / dh)``,
      position t = 0, 1, ..., T-1 of each row. Then ``softmax(q k^T / sqrt(dh))`` with a causal
      mask (position t attends to s <= t), times v; heads merged back in order and projected by ``wo``.
    - ``swiglu(z) = (silu(z @ w1.T) * (z @ w3.T)) @ w2.T`` with ``silu(a) = a * sigmoid(a)``.

    Write it all in this file: it is graded on its own (copy in code from your rms_norm, rope,
    multihead_attention and swiglu answers if you like).

    Args:
        x: the residual stream, shape (B, T, d_model), float32 or float64, on any device,
            possibly non-contiguous.
        weights: a dict of tensors with ``x``'s dtype and device (d_ff is the hidden size of the
            feed-forward layer):
            - ``"ln1"``: (d_model,) the gain of the RMSNorm before attention;
            - ``"wq"``, ``"wk"``, ``"wv"``, ``"wo"``: (d_model, d_model) the attention projections;
            - ``"ln2"``: (d_model,) the gain of the RMSNorm before the feed-forward layer;
            - ``"w1"``, ``"w3"``: (d_ff, d_model) the gate and value projections;
            - ``"w2"``: (d_model, d_ff) the output projection.
        n_heads: a Python int dividing d_model, with dh = d_model // n_heads even (RoPE pairs).
        eps: the RMSNorm epsilon, a Python float.
        theta: the RoPE base, a Python float.

    Returns:
        A new tensor of shape (B, T, d_model) with ``x``'s dtype and device. Attention scores of
        large magnitude must not overflow. No input is modified (nor any tensor in ``weights``).

    Forbidden: ``torch.nn.functional.scaled_dot_product_attention`` (and its kernels),
    ``torch.nn.MultiheadAttention``, ``F.rms_norm`` / ``torch.nn.RMSNorm``, ``F.silu`` /
    ``torch.nn.SiLU`` and torch's Transformer layers — however they are reached.
    ``torch.softmax``, ``torch.sigmoid``, complex tensors and ``torch.polar`` are allowed.
    """
    raise NotImplementedError
