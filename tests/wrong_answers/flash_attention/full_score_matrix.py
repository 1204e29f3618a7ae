"""Computes the right values the naive way: the whole (Tq, Tk) score matrix, masked, then softmax."""
import math

import torch


def flash_attention(q, k, v, causal=False, block_size=64):
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])  # (..., Tq, Tk): what tiling avoids
    if causal:
        Tq, Tk = scores.shape[-2:]
        keep = torch.ones(Tq, Tk, dtype=torch.bool, device=q.device).tril(Tk - Tq)  # bottom-right
        scores = scores.masked_fill(~keep, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
