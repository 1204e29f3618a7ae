"""Adds up the per-tensor norms instead of taking the norm of all entries: Σ‖g_i‖ ≠ √(Σ‖g_i‖²)."""

import torch


def clip_grad_norm(grads, max_norm, eps=1e-6):
    total = sum(torch.linalg.vector_norm(g) for g in grads)
    coef = torch.clamp(max_norm / (total + eps), max=1.0)
    return [g * coef for g in grads], total
