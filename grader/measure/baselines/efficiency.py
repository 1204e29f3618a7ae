"""Timing and memory baselines of the efficiency track: the plain vectorised formula, written with torch ops."""

from __future__ import annotations

import torch


# --- quantize_int8 ---

def quantize_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-row int8 codes round(w / scale) with scale = max|w_row| / 127 (zero rows: 0)."""
    scale = w.abs().amax(dim=1) / 127  # (rows,)
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.round(w / safe[:, None]).clamp(-127, 127).to(torch.int8), scale


# --- magnitude_prune ---

def magnitude_prune(w: torch.Tensor, sparsity: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero the round(sparsity · numel) smallest |w| (ties: lower flat index first); mask True = kept."""
    k = round(sparsity * w.numel())
    order = torch.argsort(w.abs().reshape(-1), stable=True)  # (numel,)
    mask = torch.ones(w.numel(), dtype=torch.bool, device=w.device)
    mask[order[:k]] = False
    mask = mask.view(w.shape)
    return torch.where(mask, w, torch.zeros((), dtype=w.dtype, device=w.device)), mask


# --- distill_loss ---

def distill_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, T: float) -> torch.Tensor:
    """T² · KL(softmax(teacher / T) ‖ softmax(student / T)), summed and divided by the batch size."""
    log_s = torch.log_softmax(student_logits / T, dim=-1)
    log_t = torch.log_softmax(teacher_logits / T, dim=-1)
    return torch.nn.functional.kl_div(log_s, log_t, reduction="batchmean", log_target=True) * T**2


# --- lora_linear ---

def lora_linear(x: torch.Tensor, W: torch.Tensor, A: torch.Tensor, B: torch.Tensor, alpha: float) -> torch.Tensor:
    """x Wᵀ + (alpha / r) · (x Aᵀ) Bᵀ without forming W + BA."""
    return torch.nn.functional.linear(x, W) + (alpha / A.shape[0]) * ((x @ A.T) @ B.T)


# --- flash_attention ---

def flash_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
                    block_size: int = 64) -> torch.Tensor:
    """The library's fused attention, causal mask aligned bottom-right; block_size only shapes the student's tiles."""
    Tq, Tk = q.shape[-2], k.shape[-2]
    if causal and Tq != Tk:  # is_causal aligns top-left: query i of Tq sees keys up to Tk - Tq + i instead
        mask = torch.ones(Tq, Tk, dtype=torch.bool, device=q.device).tril(Tk - Tq)
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)


# --- quantize_int4 ---

NF4_LEVELS = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
              -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
              0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
              0.7229568362236023, 1.0]  # bitsandbytes get_4bit_type("nf4")


def quantize_int4(w: torch.Tensor, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int4 per group of the last dim (scale absmax / 7), two's complement nibbles, high nibble first."""
    rows, cols = w.shape
    g = w.reshape(rows, cols // group_size, group_size)
    scale = g.abs().amax(dim=-1) / 7
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(g / safe[..., None]).clamp(-7, 7).to(torch.int8).reshape(rows, cols).view(torch.uint8) & 0x0F
    return (q[:, 0::2] << 4) | q[:, 1::2], scale


def quantize_nf4(w: torch.Tensor, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest NF4 level of w / absmax per group (lower code on ties), high nibble first."""
    rows, cols = w.shape
    g = w.reshape(rows, cols // group_size, group_size)
    absmax = g.abs().amax(dim=-1)
    safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    x = (g / safe[..., None]).reshape(rows, cols)
    levels = torch.tensor(NF4_LEVELS, dtype=w.dtype, device=w.device)
    codes = torch.bucketize(x, (levels[1:] + levels[:-1]) / 2).to(torch.uint8)  # a midpoint goes to the lower code
    return (codes[:, 0::2] << 4) | codes[:, 1::2], absmax
