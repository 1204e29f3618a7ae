"""Returns the mask as a float tensor of ones and zeros, and the product w * mask."""
import torch


def prune(w, sparsity):
    k = round(sparsity * w.numel())
    order = torch.argsort(w.abs().reshape(-1), stable=True)
    keep = torch.ones(w.numel(), dtype=w.dtype, device=w.device)
    keep[order[:k]] = 0.0
    mask = keep.reshape(w.shape)
    return w * mask, mask
