"""Returns the mask of the pruned entries (True = pruned) instead of the kept ones."""
import torch


def prune(w, sparsity):
    k = round(sparsity * w.numel())
    order = torch.argsort(w.abs().reshape(-1), stable=True)
    gone = torch.zeros(w.numel(), dtype=torch.bool, device=w.device)
    gone[order[:k]] = True
    gone = gone.reshape(w.shape)
    return torch.where(gone, torch.zeros((), dtype=w.dtype, device=w.device), w), gone
