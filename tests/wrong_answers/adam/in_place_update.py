"""Updates m, v and param in place, as torch.optim does internally."""
import torch


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m.mul_(beta1).add_(grad, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = v.sqrt() / (1 - beta2 ** t) ** 0.5 + eps
    param.addcdiv_(m, denom, value=-lr / (1 - beta1 ** t))
    return param, m, v
