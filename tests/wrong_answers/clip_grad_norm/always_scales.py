"""Always multiplies by max_norm / (total + eps): gradients below the threshold get scaled up."""

import torch


def clip_grad_norm(grads, max_norm, eps=1e-6):
    total = torch.sqrt(sum((g * g).sum() for g in grads))
    coef = max_norm / (total + eps)
    return [g * coef for g in grads], total
