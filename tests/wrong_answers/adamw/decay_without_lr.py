"""Decays by (1 − λ) instead of (1 − lr·λ): the decay ignores the learning rate."""

import math


def adamw_step(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    param = param * (1 - weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    denom = v.sqrt() / math.sqrt(1 - beta2 ** t) + eps
    return param - lr / (1 - beta1 ** t) * m / denom, m, v
