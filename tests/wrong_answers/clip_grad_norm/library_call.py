"""Calls torch.nn.utils.clip_grad_norm_ on copies, which the exercise forbids."""

import torch


def clip_grad_norm(grads, max_norm, eps=1e-6):
    params = [torch.zeros_like(g) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params], total
