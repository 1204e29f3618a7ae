"""No bias correction: the moments start at zero and their early estimates stay too small."""


def adamw_step(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    param = param * (1 - lr * weight_decay)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    return param - lr * m / (v.sqrt() + eps), m, v
