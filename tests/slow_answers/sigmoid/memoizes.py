"""Slow per element, but remembers every result by the input's values and returns it when seen again.

Timing draws fresh values for every call, so no call is ever seen again: the cache never helps.
"""
import torch

_cache = {}


def _key(x):
    flat = x.reshape(-1)
    return (tuple(x.shape), x.dtype, float(flat.sum()) if flat.numel() else 0.0, tuple(flat[:4].tolist()))


def sigmoid(x):
    key = _key(x)
    if key in _cache:
        return _cache[key].clone()
    flat = x.reshape(-1)
    out = torch.empty_like(flat)
    for i in range(flat.numel()):
        out[i] = 1.0 / (1.0 + torch.exp(-flat[i]))
    out = out.reshape(x.shape)
    _cache[key] = out.clone()
    return out
