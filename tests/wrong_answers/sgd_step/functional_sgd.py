"""Calls the functional torch.optim._functional.sgd, which the exercise forbids."""
import torch
from torch.optim._functional import sgd


def sgd_step(param, grad, buf, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    p, bufs = param.clone(), [None if buf is None else buf.clone()]
    sgd([p], [grad], bufs, weight_decay=weight_decay, momentum=momentum, lr=lr, dampening=0.0,
        nesterov=nesterov, maximize=False)
    return p, bufs[0] if momentum != 0 else None
