"""Uses torch.nn.utils.prune.l1_unstructured on a throwaway module."""
import torch
import torch.nn.utils.prune as torch_prune


def prune(w, sparsity):
    holder = torch.nn.Module()
    holder.weight = torch.nn.Parameter(w.clone(), requires_grad=False)
    torch_prune.l1_unstructured(holder, "weight", amount=round(sparsity * w.numel()))
    mask = holder.weight_mask.bool()
    return holder.weight.detach().clone(), mask
