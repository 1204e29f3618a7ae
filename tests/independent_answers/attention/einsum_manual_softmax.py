"""Attention with einsum contractions and a hand-written, max-shifted softmax."""
import math

import torch


def attention(q, k, v, mask=None):
    depth = q.size(-1)
    logits = torch.einsum("...id,...jd->...ij", q, k) / math.sqrt(depth)
    if mask is not None:
        logits = logits.masked_fill(mask.logical_not(), -math.inf)
    peak = logits.amax(dim=-1, keepdim=True)
    peak = torch.where(torch.isinf(peak), torch.zeros_like(peak), peak)
    expd = torch.exp(logits - peak)
    norm = expd.sum(dim=-1, keepdim=True)
    probs = expd / torch.where(norm == 0, torch.ones_like(norm), norm)
    return torch.einsum("...ij,...jd->...id", probs, v)
