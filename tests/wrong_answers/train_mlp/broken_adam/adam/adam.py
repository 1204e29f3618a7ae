"""A wrong dependency: Adam without bias correction (m and v used as they are).

train_mlp itself is the reference answer; the checks must blame adam, not train_mlp.
"""
import torch


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * grad * grad
    return param - lr * m / (v.sqrt() + eps), m, v
