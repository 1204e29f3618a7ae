"""Rescales by min(total, max_norm) / total: all-zero gradients give 0 / 0 = NaN, and eps is ignored."""

import torch


def clip_grad_norm(grads, max_norm, eps=1e-6):
    total = torch.sqrt(sum((g * g).sum() for g in grads))
    coef = torch.clamp(total, max=max_norm) / total
    return [g * coef for g in grads], total
