"""Subtracts the minimum in place: the caller's data is overwritten."""
import torch


def normalize(x):
    lo, hi = x.amin(dim=0), x.amax(dim=0)
    span = hi - lo
    span = torch.where(span > 0, span, torch.ones_like(span))
    return x.sub_(lo).div_(span), lo, hi
