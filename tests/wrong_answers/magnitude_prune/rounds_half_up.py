"""Counts k = floor(sparsity * numel + 0.5): halves round up, not to even."""
import math

import torch


def prune(w, sparsity):
    k = math.floor(sparsity * w.numel() + 0.5)
    order = torch.argsort(w.abs().reshape(-1), stable=True)
    keep = torch.ones(w.numel(), dtype=torch.bool, device=w.device)
    keep[order[:k]] = False
    mask = keep.reshape(w.shape)
    return torch.where(mask, w, torch.zeros((), dtype=w.dtype, device=w.device)), mask
