"""Accumulates the norm in a float32 tensor made with torch.tensor(0.0): float64 grads get a float32 norm."""

import torch


def clip_grad_norm(grads, max_norm, eps=1e-6):
    sq = torch.tensor(0.0, device=grads[0].device)
    for g in grads:
        sq = sq + (g.float() ** 2).sum()
    total = sq.sqrt()
    coef = torch.clamp(max_norm / (total + eps), max=1.0)
    return [g * coef.to(g.dtype) for g in grads], total
