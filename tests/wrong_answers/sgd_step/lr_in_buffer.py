"""Folds the learning rate into the buffer (b = μ·b + η·g; θ = θ − b): same steps, wrong buffer."""
import torch


def sgd_step(param, grad, buf, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    g = grad + weight_decay * param if weight_decay != 0 else grad
    if momentum == 0:
        return param - lr * g, None
    new_buf = lr * g if buf is None else momentum * buf + lr * g
    step = lr * g + momentum * new_buf if nesterov else new_buf
    return param - step, new_buf
