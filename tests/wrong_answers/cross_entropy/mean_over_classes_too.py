"""Averages the one-hot product over all N·C entries, dividing by C once too often."""
import torch
import torch.nn.functional as F


def cross_entropy(logits, targets):
    m = logits.amax(dim=1, keepdim=True)
    logp = logits - m - torch.log(torch.exp(logits - m).sum(dim=1, keepdim=True))
    onehot = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return -(onehot * logp).mean()
