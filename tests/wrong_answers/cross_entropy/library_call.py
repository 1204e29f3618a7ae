"""Calls the forbidden library loss."""
import torch.nn.functional as F


def cross_entropy(logits, targets):
    return F.cross_entropy(logits, targets)
