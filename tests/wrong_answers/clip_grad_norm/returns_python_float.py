"""Returns the total norm as a Python float (.item()) instead of a 0-d tensor."""

import math


def clip_grad_norm(grads, max_norm, eps=1e-6):
    total = math.sqrt(sum(float((g * g).sum()) for g in grads))
    coef = min(max_norm / (total + eps), 1.0)
    return [g * coef for g in grads], total
