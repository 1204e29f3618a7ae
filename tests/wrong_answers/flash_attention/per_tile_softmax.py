"""Normalises each key tile with its own softmax and averages the tiles' outputs."""
import math

import torch


def flash_attention(q, k, v, causal=False, block_size=64):
    *lead, Tq, d = q.shape
    Tk = k.shape[-2]
    out = q.new_zeros(*lead, Tq, v.shape[-1])
    for i in range(0, Tq, block_size):
        qi = q[..., i:i + block_size, :] / math.sqrt(d)
        bq = qi.shape[-2]
        tiles = 0
        for j in range(0, Tk, block_size):
            s = qi @ k[..., j:j + block_size, :].transpose(-2, -1)
            if causal:
                rows = torch.arange(i, i + bq, device=q.device)[:, None]
                cols = torch.arange(j, j + s.shape[-1], device=q.device)[None, :]
                s = s.masked_fill(cols > rows, float("-inf"))
            w = torch.nan_to_num(torch.softmax(s, dim=-1))
            out[..., i:i + bq, :] += w @ v[..., j:j + block_size, :]
            tiles += 1
        out[..., i:i + bq, :] /= tiles
    return out
