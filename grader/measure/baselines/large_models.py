"""Timing and memory baselines of the large-models track: the plain vectorised formula, written with torch ops."""

from __future__ import annotations

import torch


# --- layer_norm ---

def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """torch.nn.functional.layer_norm over the last dimension, with the exercise's signature."""
    return torch.nn.functional.layer_norm(x, x.shape[-1:], weight, bias, eps)


# --- rms_norm ---

def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """x / sqrt(mean(x²) + eps) · weight over the last dimension."""
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


# --- rope ---

def rope(x: torch.Tensor, positions: torch.Tensor, theta: float = 10000.0) -> torch.Tensor:
    """Rotary embedding of adjacent pairs (2i, 2i+1) of the last dimension of ``x`` (..., T, d)."""
    d = x.shape[-1]
    freq = theta ** (-torch.arange(0, d, 2, dtype=x.dtype, device=x.device) / d)  # (d/2,)
    angle = positions.to(x.dtype)[:, None] * freq  # (T, d/2)
    cos, sin = angle.cos(), angle.sin()
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)


# --- multihead_attention ---

def multihead_attention(x: torch.Tensor, Wq: torch.Tensor, Wk: torch.Tensor, Wv: torch.Tensor,
                        Wo: torch.Tensor, n_heads: int, causal: bool = True) -> torch.Tensor:
    """Multi-head self-attention of ``x`` (B, T, d_model), weights in nn.Linear convention, no biases."""
    B, T, d_model = x.shape
    dh = d_model // n_heads
    q, k, v = ((x @ w.T).view(B, T, n_heads, dh).transpose(1, 2) for w in (Wq, Wk, Wv))  # (B, H, T, dh)
    scores = q @ k.transpose(-2, -1) * dh ** -0.5  # (B, H, T, T)
    if causal:
        scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
    return (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, d_model) @ Wo.T


# --- swiglu ---

def swiglu(x: torch.Tensor, W1: torch.Tensor, W2: torch.Tensor, W3: torch.Tensor) -> torch.Tensor:
    """(SiLU(x W1ᵀ) ⊙ x W3ᵀ) W2ᵀ with the library SiLU."""
    return (torch.nn.functional.silu(x @ W1.T) * (x @ W3.T)) @ W2.T


# --- adamw ---

def adamw_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int, lr: float,
               beta1: float, beta2: float, eps: float,
               weight_decay: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of torch.optim.AdamW's formula, out of place as the exercise asks (inputs unchanged)."""
    param = param * (1.0 - lr * weight_decay)
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * grad * grad
    denom = v.sqrt() / (1.0 - beta2 ** t) ** 0.5 + eps
    return param - lr / (1.0 - beta1 ** t) * m / denom, m, v


# --- clip_grad_norm ---

def clip_grad_norm(grads: list[torch.Tensor], max_norm: float,
                   eps: float = 1e-6) -> tuple[list[torch.Tensor], torch.Tensor]:
    """torch.nn.utils.clip_grad_norm_ on copies: it clips .grad in place, the exercise returns new tensors."""
    # Stand-in parameters: one element broadcast to each gradient's shape, so nothing big is allocated.
    holders = [torch.empty((), dtype=g.dtype, device=g.device).expand(g.shape) for g in grads]
    for holder, g in zip(holders, grads):
        holder.grad = g.clone()  # the library reads and scales .grad in place
    total = torch.nn.utils.clip_grad_norm_(holders, max_norm)  # its eps is fixed at 1e-6
    return [holder.grad for holder in holders], total


# --- transformer_block ---

def transformer_block(x: torch.Tensor, weights: dict[str, torch.Tensor], n_heads: int, eps: float = 1e-5,
                      theta: float = 10000.0) -> torch.Tensor:
    """Pre-norm block: x + attention(rms_norm(x)) with RoPE and a causal mask, then + swiglu(rms_norm(h))."""
    B, T, d_model = x.shape
    dh = d_model // n_heads
    xn = rms_norm(x, weights["ln1"], eps)
    q, k, v = ((xn @ weights[n].T).view(B, T, n_heads, dh).transpose(1, 2) for n in ("wq", "wk", "wv"))
    positions = torch.arange(T, device=x.device)
    q, k = rope(q, positions, theta), rope(k, positions, theta)  # (B, H, T, dh), per-head frequencies
    scores = q @ k.transpose(-2, -1) * dh ** -0.5  # (B, H, T, T)
    scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
    h = x + (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, d_model) @ weights["wo"].T
    return h + swiglu(rms_norm(h, weights["ln2"], eps), weights["w1"], weights["w2"], weights["w3"])


# --- kv_cache ---

def decode_step(x_t: torch.Tensor, cache_k: torch.Tensor, cache_v: torch.Tensor, Wq: torch.Tensor,
                Wk: torch.Tensor, Wv: torch.Tensor, Wo: torch.Tensor,
                n_heads: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One new token (B, 1, d_model) attending to a (B, H, T_past, dh) cache grown by its own key and value."""
    B, _, d_model = x_t.shape
    dh = d_model // n_heads
    q, k, v = ((x_t @ W.T).view(B, 1, n_heads, dh).transpose(1, 2) for W in (Wq, Wk, Wv))  # (B, H, 1, dh)
    K, V = torch.cat((cache_k, k), dim=2), torch.cat((cache_v, v), dim=2)  # (B, H, T_past + 1, dh)
    out = torch.softmax(q @ K.transpose(-2, -1) * dh ** -0.5, dim=-1) @ V  # (B, H, 1, dh)
    return out.transpose(1, 2).reshape(B, 1, d_model) @ Wo.T, K, V
