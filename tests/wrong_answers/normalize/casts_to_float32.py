"""Converts the input to float32 first "to be safe": float64 data comes back as float32."""
import torch


def normalize(x):
    x = x.float()
    lo, hi = x.amin(dim=0), x.amax(dim=0)
    span = hi - lo
    span = torch.where(span > 0, span, torch.ones_like(span))
    return (x - lo) / span, lo, hi
