"""Returns the moments it was given instead of the updated m' and v'."""

import math


def adamw_step(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    param = param * (1 - lr * weight_decay)
    m_new = beta1 * m + (1 - beta1) * grad
    v_new = beta2 * v + (1 - beta2) * grad * grad
    denom = v_new.sqrt() / math.sqrt(1 - beta2 ** t) + eps
    return param - lr / (1 - beta1 ** t) * m_new / denom, m, v
