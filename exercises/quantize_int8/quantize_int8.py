"""Exercise: symmetric per-row (per output channel) int8 quantization of a weight matrix."""

import torch


def quantize(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantize each row of ``w`` to int8 codes with one scale per row.

    For row i, with ``scale[i] = max_j |w[i, j]| / 127``::

        q[i, j] = clamp(round(w[i, j] / scale[i]), -127, 127)

    ``round`` rounds halves to even, as ``torch.round`` does (0.5 → 0, 1.5 → 2, -2.5 → -2). The
    codes are symmetric: -128 is never used, and the largest |w| of a row maps to ±127 exactly.
    A row of zeros has ``scale = 0`` and codes 0 (no division by zero, no NaN).

    Args:
        w: weights, shape ``(rows, cols)`` (a row is one output channel), float32 or float64,
            finite, on any device. Not modified.

    Returns:
        ``(q, scale)``: ``q`` int8 of shape ``(rows, cols)`` with values in [-127, 127];
        ``scale`` of shape ``(rows,)`` with ``w``'s dtype; both on ``w``'s device.

    Forbidden: ``torch.quantize_per_channel``, ``torch.quantize_per_tensor``, quantized tensors of
    any kind, ``torch.fake_quantize_*`` and everything under ``torch.ao.quantization`` — by any route.
    """
    raise NotImplementedError


def dequantize(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Map int8 codes back to real numbers: ``w_hat[i, j] = q[i, j] * scale[i]``.

    Args:
        q: int8 codes, shape ``(rows, cols)``.
        scale: one scale per row, shape ``(rows,)``, float32 or float64, on ``q``'s device.

    Returns:
        A new tensor of shape ``(rows, cols)`` with ``scale``'s dtype and device. For
        ``(q, scale) = quantize(w)``: ``|w - dequantize(q, scale)| <= scale / 2`` on every row.
        Neither input is modified.
    """
    raise NotImplementedError
