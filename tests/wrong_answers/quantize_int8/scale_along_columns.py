"""dequantize multiplies by the scale as it is (q * scale), broadcasting it along the columns."""
import torch


def quantize(w):
    scale = w.abs().amax(dim=1) / 127
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.round(w / safe[:, None]).clamp(-127, 127).to(torch.int8), scale


def dequantize(q, scale):
    return q.to(scale.dtype) * scale
