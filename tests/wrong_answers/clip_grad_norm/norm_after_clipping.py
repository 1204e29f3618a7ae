"""Returns the norm of the clipped gradients rather than the norm before clipping."""

import torch


def clip_grad_norm(grads, max_norm, eps=1e-6):
    total = torch.sqrt(sum((g * g).sum() for g in grads))
    coef = torch.clamp(max_norm / (total + eps), max=1.0)
    clipped = [g * coef for g in grads]
    return clipped, torch.sqrt(sum((c * c).sum() for c in clipped))
