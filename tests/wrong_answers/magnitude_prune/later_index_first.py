"""Among equal magnitudes prunes the later entry first (a descending sort read from the end)."""
import torch


def prune(w, sparsity):
    k = round(sparsity * w.numel())
    order = torch.argsort(w.abs().reshape(-1), descending=True, stable=True)  # ties stay in index order...
    keep = torch.ones(w.numel(), dtype=torch.bool, device=w.device)
    if k:
        keep[order[-k:]] = False  # ...so the last k are the highest-index ones among equals
    mask = keep.reshape(w.shape)
    return torch.where(mask, w, torch.zeros((), dtype=w.dtype, device=w.device)), mask
