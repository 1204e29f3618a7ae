"""Scales by sqrt(dv), the width of the values, instead of sqrt(d) of the queries and keys."""
import math

import torch


def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(v.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
        w = torch.where(mask.any(-1, keepdim=True), torch.softmax(scores, dim=-1), 0.0)
        return w @ v
    return torch.softmax(scores, dim=-1) @ v
