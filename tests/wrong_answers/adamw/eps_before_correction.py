"""Adds ε to √v' before the bias correction: (√v' + ε) / √(1 − β2^t)."""

import math


def adamw_step(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    param = param * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    denom = (v.sqrt() + eps) / math.sqrt(1 - beta2 ** t)
    return param - lr / (1 - beta1 ** t) * m / denom, m, v
