"""Clips each gradient by its own norm instead of one global norm over all of them."""

import torch


def clip_grad_norm(grads, max_norm, eps=1e-6):
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    clipped = []
    for g in grads:
        coef = torch.clamp(max_norm / (torch.linalg.vector_norm(g) + eps), max=1.0)
        clipped.append(g * coef)
    return clipped, total
