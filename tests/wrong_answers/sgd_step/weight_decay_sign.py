"""Subtracts the weight-decay term from the gradient: pushes weights away from 0."""
import torch


def sgd_step(param, grad, buf, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    g = grad - weight_decay * param if weight_decay != 0 else grad
    new_buf = None
    if momentum != 0:
        new_buf = g.clone() if buf is None else momentum * buf + g
        g = g + momentum * new_buf if nesterov else new_buf
    return param - lr * g, new_buf
