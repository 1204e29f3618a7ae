"""Exercise: scaled dot-product attention with an optional boolean mask."""

import torch


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Scaled dot-product attention: each query takes a softmax-weighted average of the values.

    With ``d = q.shape[-1]`` (the query/key width, not the value width)::

        scores = q @ k^T / sqrt(d)                          # (..., Tq, Tk)
        scores[~mask] = -inf                                # only where a mask is given
        out    = softmax(scores, dim=-1) @ v                # (..., Tq, dv)

    Args:
        q: queries, shape ``(..., Tq, d)``, float32 or float64, on any device.
        k: keys, shape ``(..., Tk, d)``, same leading dimensions, dtype and device as ``q``.
        v: values, shape ``(..., Tk, dv)``; ``dv`` may differ from ``d``.
        mask: None (every query attends to every key) or a bool tensor broadcastable to
            ``(..., Tq, Tk)`` — e.g. ``(Tq, Tk)`` or ``(B, 1, 1, Tk)`` — that adds no dimensions
            of its own. ``True`` means "may attend", ``False`` means "blocked", as in
            ``torch.nn.functional.scaled_dot_product_attention``.

    Returns:
        A new tensor of shape ``(..., Tq, dv)`` with ``q``'s dtype and device. A query whose
        mask row is entirely False attends to nothing and gets a row of zeros (as
        ``scaled_dot_product_attention`` returns), never NaN. Scores of large magnitude must
        not overflow. No input is modified.

    Forbidden: ``torch.nn.functional.scaled_dot_product_attention`` and its ATen kernels,
    ``torch.nn.MultiheadAttention``, ``torch.nn.functional.multi_head_attention_forward`` —
    however they are reached. ``torch.softmax`` and ``torch.matmul`` are allowed.
    """
    raise NotImplementedError
