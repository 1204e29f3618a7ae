"""Prunes the same fraction of every row (the last dimension) instead of the whole tensor."""
import torch


def prune(w, sparsity):
    if w.dim() == 0 or w.numel() == 0:
        k = round(sparsity * w.numel())
        mask = torch.ones_like(w, dtype=torch.bool) if k == 0 else torch.zeros_like(w, dtype=torch.bool)
        return torch.where(mask, w, torch.zeros((), dtype=w.dtype, device=w.device)), mask
    k = round(sparsity * w.shape[-1])
    order = torch.argsort(w.abs(), dim=-1, stable=True)
    mask = torch.ones_like(w, dtype=torch.bool)
    mask.scatter_(-1, order[..., :k], False)
    return torch.where(mask, w, torch.zeros((), dtype=w.dtype, device=w.device)), mask
