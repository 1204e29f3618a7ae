"""Counts k = int(sparsity * numel): truncation instead of rounding."""
import torch


def prune(w, sparsity):
    k = int(sparsity * w.numel())
    order = torch.argsort(w.abs().reshape(-1), stable=True)
    keep = torch.ones(w.numel(), dtype=torch.bool, device=w.device)
    keep[order[:k]] = False
    mask = keep.reshape(w.shape)
    return torch.where(mask, w, torch.zeros((), dtype=w.dtype, device=w.device)), mask
