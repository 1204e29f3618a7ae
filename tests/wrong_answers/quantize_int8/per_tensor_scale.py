"""One scale for the whole matrix (per-tensor), repeated for every row."""
import torch


def quantize(w):
    s = w.abs().amax() / 127
    safe = s if s > 0 else torch.ones_like(s)
    q = torch.round(w / safe).clamp(-127, 127).to(torch.int8)
    return q, s.expand(w.shape[0]).clone()


def dequantize(q, scale):
    return q.to(scale.dtype) * scale[:, None]
