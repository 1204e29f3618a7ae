"""Runs torch.optim.SGD on a copy of the parameter, which the exercise forbids."""
import torch


def sgd_step(param, grad, buf, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    p = torch.nn.Parameter(param.clone())
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    if buf is not None:
        opt.state[p]["momentum_buffer"] = buf.clone()
    p.grad = grad.clone()
    opt.step()
    return p.detach(), opt.state[p].get("momentum_buffer")
