"""Stores int4 codes as q + 8 (offset binary, GGML style) instead of two's complement."""

import torch

# The 16 NF4 levels of QLoRA (Dettmers et al., 2023), as bitsandbytes' get_4bit_type("nf4") lists
# them: code 0 is -1, code 7 is 0, code 15 is 1.
NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]


def _pack(codes: torch.Tensor) -> torch.Tensor:
    """(rows, cols) nibbles 0..15 -> (rows, cols/2) uint8: element 2j in the high nibble, 2j+1 in the low."""
    codes = codes.to(torch.uint8)
    return (codes[:, 0::2] << 4) | codes[:, 1::2]


def _unpack(packed: torch.Tensor) -> torch.Tensor:
    """(rows, cols/2) uint8 -> (rows, cols) int64 nibbles 0..15, in element order."""
    high, low = (packed >> 4).long(), (packed & 0x0F).long()
    return torch.stack((high, low), dim=-1).flatten(1)  # interleave: high of byte j, then its low


def _groups(w: torch.Tensor, group_size: int) -> torch.Tensor:
    rows, cols = w.shape
    return w.reshape(rows, cols // group_size, group_size)  # (rows, n_groups, g)


def quantize_int4(w: torch.Tensor, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int4 codes round(w / scale) in [-7, 7], scale = absmax / 7 per group, packed two per byte."""
    rows, cols = w.shape
    g = _groups(w, group_size)
    scale = g.abs().amax(dim=-1) / 7  # (rows, n_groups)
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))  # a zero group divides 0 by 1
    q = torch.round(g / safe[..., None]).clamp(-7, 7).to(torch.int8).reshape(rows, cols)
    return _pack(q + 8), scale  # two's complement nibbles: -1 -> 0b1111


def dequantize_int4(packed: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Sign-extend each nibble and multiply by its group's scale, in the scale's dtype."""
    nib = _unpack(packed)  # (rows, cols), 0..15
    q = nib - 8
    rows, cols = q.shape
    g = cols // scales.shape[1]
    return (_groups(q.to(scales.dtype), g) * scales[..., None]).reshape(rows, cols)


def quantize_nf4(w: torch.Tensor, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest NF4 level to w / absmax per group (ties to the lower code), packed two per byte."""
    rows, cols = w.shape
    g = _groups(w, group_size)
    absmax = g.abs().amax(dim=-1)  # (rows, n_groups)
    safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    x = (g / safe[..., None]).reshape(rows, cols)  # in [-1, 1]
    levels = torch.tensor(NF4, dtype=w.dtype, device=w.device)
    codes = (x[..., None] - levels).abs().argmin(dim=-1)  # (rows, cols); argmin keeps the first of a tie
    return _pack(codes), absmax


def dequantize_nf4(packed: torch.Tensor, absmax: torch.Tensor) -> torch.Tensor:
    """Look each nibble up in the NF4 table and multiply by its group's absmax, in absmax's dtype."""
    codes = _unpack(packed)
    rows, cols = codes.shape
    levels = torch.tensor(NF4, dtype=absmax.dtype, device=absmax.device)
    g = cols // absmax.shape[1]
    return (_groups(levels[codes], g) * absmax[..., None]).reshape(rows, cols)
