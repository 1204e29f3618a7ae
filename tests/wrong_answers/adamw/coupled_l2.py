"""Weight decay coupled as in Adam with L2: λθ is added to the gradient, so it is divided by √v̂."""

import math


def adamw_step(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    grad = grad + weight_decay * param
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    denom = v.sqrt() / math.sqrt(1 - beta2 ** t) + eps
    return param - lr / (1 - beta1 ** t) * m / denom, m, v
