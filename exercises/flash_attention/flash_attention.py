"""Exercise: attention computed tile by tile with an online softmax (FlashAttention's forward pass)."""

import torch


def flash_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
                    block_size: int = 64) -> torch.Tensor:
    """Scaled dot-product attention without ever holding the full (Tq, Tk) score matrix.

    The result is ``softmax(q kᵀ / √d) v`` (with ``d = q.shape[-1]``), computed over tiles of
    ``block_size`` queries by ``block_size`` keys. For each query tile keep, per row, a running
    maximum ``m``, a running sum ``l`` of ``exp(score - m)`` and a running ``acc`` of
    ``exp(score - m) · v``; each new key tile raises ``m`` to ``m_new`` and rescales ``l`` and
    ``acc`` by ``exp(m - m_new)`` before adding its own terms. The output rows are ``acc / l``.

    Args:
        q: queries, shape ``(..., Tq, d)``, float32 or float64, on any device. Not modified.
        k: keys, shape ``(..., Tk, d)``, the same leading dimensions, dtype and device.
        v: values, shape ``(..., Tk, dv)``; ``dv`` may differ from ``d``.
        causal: if True, query i attends only to keys j <= Tk - Tq + i: the mask is aligned
            bottom-right, the queries being the last Tq positions of the Tk (a single query sees
            every key). With Tq = Tk this is j <= i. Requires Tq <= Tk.
        block_size: the tile size, a positive int; it need not divide Tq or Tk and may exceed them.
            It changes how the work is split, never the result.

    Returns:
        A new tensor of shape ``(..., Tq, dv)`` with ``q``'s dtype and device, equal to
        ``scaled_dot_product_attention(q, k, v)`` up to rounding, or with ``causal=True`` to the
        same call with ``attn_mask=ones(Tq, Tk, dtype=bool).tril(Tk - Tq)`` (``is_causal=True``
        aligns top-left and agrees only when Tq = Tk). Large scores must not overflow.

    Memory: besides the result, an answer may hold only tiles (and per-row statistics) at once;
    a memory check with Tq = Tk = 4096 allows 16 MiB, a quarter of the float32 score matrix, and
    one with Tq = 128, Tk = 32768 allows 8 MiB, half of what one query block against all keys
    holds: the keys too must be visited tile by tile.

    Forbidden: ``torch.nn.functional.scaled_dot_product_attention`` and every fused attention
    kernel, ``torch.nn.MultiheadAttention`` — by any route. ``torch.exp``, ``amax``, ``@`` are fine.
    """
    raise NotImplementedError
