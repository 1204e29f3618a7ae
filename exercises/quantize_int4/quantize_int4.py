"""Exercise: group-wise 4-bit weight quantization (symmetric int4 and NF4), two codes per byte."""

import torch


def quantize_int4(w: torch.Tensor, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantize each group of ``group_size`` consecutive entries of a row to symmetric int4 codes.

    For group (i, j), the columns ``j*group_size .. (j+1)*group_size - 1`` of row i, with
    ``scale[i, j] = max |w| over the group / 7``::

        q = clamp(round(w / scale[i, j]), -7, 7)          # int4 codes; -8 is never produced

    ``round`` rounds halves to even (``torch.round``). A group of zeros has scale 0 and codes 0.
    Each code is stored as a 4-bit two's complement nibble (``q & 0xF``: 3 -> 0b0011, -1 -> 0b1111),
    two per byte: element ``2m`` of a row in the HIGH nibble (bits 4-7) of byte m and element
    ``2m + 1`` in the LOW nibble (bits 0-3), as bitsandbytes orders its 4-bit codes.

    Args:
        w: weights, shape ``(rows, cols)``, float32 or float64, finite, any device. Not modified.
        group_size: a Python int, even, dividing ``cols``.

    Returns:
        ``(packed, scales)``: ``packed`` uint8 of shape ``(rows, cols // 2)`` (exactly half a byte per
        weight); ``scales`` of shape ``(rows, cols // group_size)`` in ``w``'s dtype; both on ``w``'s
        device.

    Forbidden: ``torch.quantize_per_channel``, ``torch.quantize_per_tensor``, quantized tensors of any
    kind (``torch.quint4x2`` included), ``torch.fake_quantize_*`` and ``torch.ao.quantization``.
    """
    raise NotImplementedError


def dequantize_int4(packed: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Unpack int4 nibbles (high nibble first, two's complement) and multiply by their group's scale.

    Args:
        packed: uint8, shape ``(rows, cols // 2)``, as ``quantize_int4`` makes it. Any nibble 0..15 may
            occur (0b1000 is -8).
        scales: shape ``(rows, n_groups)``, float32 or float64, on ``packed``'s device; the group size
            is ``cols // n_groups``.

    Returns:
        ``w_hat`` of shape ``(rows, cols)`` in ``scales``' dtype and device: ``q * scale``. For
        ``quantize_int4``'s output, ``|w - w_hat| <= scale / 2`` in every group. Inputs not modified.
    """
    raise NotImplementedError


def quantize_nf4(w: torch.Tensor, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantize each group to the nearest of the 16 NF4 levels of QLoRA after absmax scaling.

    With ``absmax[i, j] = max |w| over group (i, j)`` and ``x = w / absmax`` (in [-1, 1])::

        code = argmin_c |x - NF4[c]|       # c = 0..15; NF4[0] = -1, NF4[7] = 0, NF4[15] = 1

    where NF4 is the published code book (QLoRA, Dettmers et al. 2023; bitsandbytes
    ``get_4bit_type("nf4")``). A tie goes to the lower code. A group of zeros has absmax 0 and
    code 7 (the level 0). Codes are packed as in ``quantize_int4``: element ``2m`` in the high
    nibble of byte m, element ``2m + 1`` in its low nibble.

    Args:
        w: weights, shape ``(rows, cols)``, float32 or float64, finite, any device. Not modified.
        group_size: a Python int, even, dividing ``cols``.

    Returns:
        ``(packed, absmax)``: ``packed`` uint8 ``(rows, cols // 2)``; ``absmax`` ``(rows, cols //
        group_size)`` in ``w``'s dtype; both on ``w``'s device.

    Forbidden: as for ``quantize_int4``.
    """
    raise NotImplementedError


def dequantize_nf4(packed: torch.Tensor, absmax: torch.Tensor) -> torch.Tensor:
    """Look each nibble up in the NF4 code book and multiply by its group's absmax.

    Args:
        packed: uint8, shape ``(rows, cols // 2)``, high nibble first.
        absmax: shape ``(rows, n_groups)``, float32 or float64, on ``packed``'s device; the group size
            is ``cols // n_groups``.

    Returns:
        ``w_hat`` of shape ``(rows, cols)`` in ``absmax``' dtype and device: ``NF4[code] * absmax``,
        with the code book in that dtype. Inputs not modified.
    """
    raise NotImplementedError
