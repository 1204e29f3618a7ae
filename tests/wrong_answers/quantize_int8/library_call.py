"""Lets torch.quantize_per_channel do the work and reads the codes back with int_repr."""
import torch


def quantize(w):
    scale = w.abs().amax(dim=1) / 127
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    qt = torch.quantize_per_channel(w.float(), safe.double(), torch.zeros(w.shape[0], dtype=torch.long,
                                                                          device=w.device), 0, torch.qint8)
    return qt.int_repr(), scale


def dequantize(q, scale):
    return q.to(scale.dtype) * scale[:, None]
