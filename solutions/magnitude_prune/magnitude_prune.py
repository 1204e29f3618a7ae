"""Reference solution: unstructured magnitude pruning."""

import torch


def prune(w: torch.Tensor, sparsity: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero the round(sparsity · numel) smallest |w|, lower flat index first among equals."""
    k = round(sparsity * w.numel())
    # A stable sort keeps equal magnitudes in flat-index order, so the first k are the ones to prune.
    order = torch.argsort(w.abs().reshape(-1), stable=True)  # (numel,)
    keep = torch.ones(w.numel(), dtype=torch.bool, device=w.device)
    keep[order[:k]] = False
    mask = keep.reshape(w.shape)
    return torch.where(mask, w, torch.zeros((), dtype=w.dtype, device=w.device)), mask
