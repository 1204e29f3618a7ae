"""Sorts the signed weights instead of their magnitudes: the most negative go first."""
import torch


def prune(w, sparsity):
    k = round(sparsity * w.numel())
    order = torch.argsort(w.reshape(-1), stable=True)
    keep = torch.ones(w.numel(), dtype=torch.bool, device=w.device)
    keep[order[:k]] = False
    mask = keep.reshape(w.shape)
    return torch.where(mask, w, torch.zeros((), dtype=w.dtype, device=w.device)), mask
