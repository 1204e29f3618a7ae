"""Divides by the bare norm, ignoring eps: zero gradients give 0 / 0 = NaN."""

import torch


def clip_grad_norm(grads, max_norm, eps=1e-6):
    total = torch.sqrt(sum((g * g).sum() for g in grads))
    coef = torch.clamp(max_norm / total, max=1.0)
    return [g * coef for g in grads], total
