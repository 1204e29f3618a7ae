"""Adds eps before the bias correction: (sqrt(v) + eps) / sqrt(1 - beta2**t)."""
import torch


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    step_size = lr / (1 - beta1 ** t)
    denom = (v.sqrt() + eps) / (1 - beta2 ** t) ** 0.5
    return param - step_size * m / denom, m, v
