"""Public checks for adamw: the first step and a few chained steps against torch.optim.AdamW."""

import torch

from grader.checks import assert_tensor, assert_tuple, check, randn

# float32: the update is a handful of roundings per step, torch orders them a little differently.
TOL = dict(rtol=1e-5, atol=1e-6)


def torch_adamw(param, grads, lr, betas, eps, weight_decay):
    """The oracle: the real torch.optim.AdamW, one step per gradient; returns θ, m, v."""
    p = param.detach().clone().requires_grad_(True)
    opt = torch.optim.AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    for g in grads:
        p.grad = g.clone()
        opt.step()
    state = opt.state[p]
    return p.detach(), state["exp_avg"], state["exp_avg_sq"]


@check(points=1)
def test_first_step(submission, device):
    param, grad = randn(4, 3, seed=1, device=device), randn(4, 3, seed=2, device=device)
    zeros = torch.zeros_like(param)
    got = assert_tuple(submission.adamw_step(param, grad, zeros, zeros, 1, 1e-2, 0.9, 0.999, 1e-8, 0.01), 3)
    for what, a, e in zip(("param", "m", "v"), got, torch_adamw(param, [grad], 1e-2, (0.9, 0.999), 1e-8, 0.01)):
        assert_tensor(a, e, **TOL, what=what)


@check(points=1)
def test_three_steps(submission, device):
    param = randn(5, seed=3, device=device)
    grads = [randn(5, seed=10 + i, device=device) for i in range(3)]
    p, m, v = param, torch.zeros_like(param), torch.zeros_like(param)
    for t, g in enumerate(grads, start=1):
        p, m, v = assert_tuple(submission.adamw_step(p, g, m, v, t, 5e-2, 0.9, 0.95, 1e-8, 0.1), 3)
    for what, a, e in zip(("param", "m", "v"), (p, m, v), torch_adamw(param, grads, 5e-2, (0.9, 0.95), 1e-8, 0.1)):
        assert_tensor(a, e, **TOL, what=f"{what} after 3 steps")
