"""Rounds through torch.fake_quantize_per_channel_affine (a forbidden library route)."""
import torch


def quantize(w):
    scale = w.abs().amax(dim=1) / 127
    safe = torch.where(scale > 0, scale, torch.ones_like(scale)).float()
    zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
    rounded = torch.fake_quantize_per_channel_affine(w.float(), safe, zero, 0, -127, 127)
    return torch.round(rounded / safe[:, None]).to(torch.int8), scale


def dequantize(q, scale):
    return q.to(scale.dtype) * scale[:, None]
