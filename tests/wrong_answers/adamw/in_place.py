"""Updates param, m and v in place, as an optimiser's step() does: the caller's tensors change."""

import math


def adamw_step(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    param.mul_(1 - lr * weight_decay)
    m.mul_(beta1).add_(grad, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = v.sqrt() / math.sqrt(1 - beta2 ** t) + eps
    param.addcdiv_(m, denom, value=-lr / (1 - beta1 ** t))
    return param, m, v
