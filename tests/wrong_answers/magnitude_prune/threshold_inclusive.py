"""Prunes every |w| up to the k-th smallest magnitude: all ties at the threshold go."""
import torch


def prune(w, sparsity):
    k = round(sparsity * w.numel())
    if k == 0:
        return w.clone(), torch.ones_like(w, dtype=torch.bool)
    t = w.abs().reshape(-1).kthvalue(k).values
    mask = w.abs() > t
    return torch.where(mask, w, torch.zeros((), dtype=w.dtype, device=w.device)), mask
