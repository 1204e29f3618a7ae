"""Multi-head attention computed one head at a time with slices, then concatenated."""
import math

import torch


def multihead_attention(x, Wq, Wk, Wv, Wo, n_heads, causal=True):
    length = x.shape[1]
    width = x.shape[2] // n_heads
    queries, keys, values = x @ Wq.t(), x @ Wk.t(), x @ Wv.t()
    blocked = None
    if causal:
        rows = torch.arange(length, device=x.device)
        blocked = rows[None, :] > rows[:, None]
    outputs = []
    for head in range(n_heads):
        part = slice(head * width, (head + 1) * width)
        qh, kh, vh = queries[..., part], keys[..., part], values[..., part]
        att = qh @ kh.transpose(1, 2) / math.sqrt(width)
        if blocked is not None:
            att = att.masked_fill(blocked, -math.inf)
        outputs.append(torch.softmax(att, dim=-1) @ vh)
    return torch.cat(outputs, dim=-1) @ Wo.t()
