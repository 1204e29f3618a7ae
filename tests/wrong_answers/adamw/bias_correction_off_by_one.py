"""Bias correction off by one: β^(t−1) where β^t is due (the step counter read before its increment)."""

import math


def adamw_step(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    param = param * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    k = max(t - 1, 1)  # guards the first step, so only later steps are off
    denom = v.sqrt() / math.sqrt(1 - beta2 ** k) + eps
    return param - lr / (1 - beta1 ** k) * m / denom, m, v
