"""Decays the parameter after the Adam update instead of before it."""

import math


def adamw_step(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    denom = v.sqrt() / math.sqrt(1 - beta2 ** t) + eps
    param = param - lr / (1 - beta1 ** t) * m / denom
    return param * (1 - lr * weight_decay), m, v
