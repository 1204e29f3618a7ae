"""Returns the minima and maxima with keepdim=True, shape (1, d) instead of (d,)."""
import torch


def normalize(x):
    lo, hi = x.amin(dim=0, keepdim=True), x.amax(dim=0, keepdim=True)
    span = hi - lo
    span = torch.where(span > 0, span, torch.ones_like(span))
    return (x - lo) / span, lo, hi
