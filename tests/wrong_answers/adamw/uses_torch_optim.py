"""Runs torch.optim.AdamW on copies of the tensors, which the exercise forbids."""

import torch


def adamw_step(param, grad, m, v, t, lr, beta1, beta2, eps, weight_decay):
    p = param.detach().clone().requires_grad_(True)
    opt = torch.optim.AdamW([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    opt.state[p] = {"step": torch.tensor(float(t - 1)), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}
    p.grad = grad.clone()
    opt.step()
    return p.detach(), opt.state[p]["exp_avg"], opt.state[p]["exp_avg_sq"]
