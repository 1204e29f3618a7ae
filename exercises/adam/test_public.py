"""Public checks for adam: the worked example and a short trajectory against torch.optim.Adam."""

import torch

from grader.checks import assert_tensor, assert_tuple, check, randn


def _torch_adam(param, grads, **hp):
    """(param, m, v) after each step of a real torch.optim.Adam over ``grads``, from zero moments."""
    p = param.detach().clone()
    opt = torch.optim.Adam([p], **hp)
    out = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        state = opt.state[p]
        out.append((p.detach().clone(), state["exp_avg"].clone(), state["exp_avg_sq"].clone()))
    return out


def _run(submission, param, grads, rtol, atol):
    m, v = torch.zeros_like(param), torch.zeros_like(param)
    p = param
    for t, (g, expected) in enumerate(zip(grads, _torch_adam(param, grads)), start=1):
        p, m, v = assert_tuple(submission.adam_step(p, g, m, v, t), 3)
        for name, got, want in zip(("param", "m", "v"), (p, m, v), expected):
            assert_tensor(got, want, rtol=rtol, atol=atol, what=f"{name} after step {t}")


@check(points=1)
def test_worked_example(submission, device):
    f64 = dict(dtype=torch.float64, device=device)
    param = torch.tensor([1.0, -2.0, 0.5], **f64)
    grads = [torch.tensor([0.1, -0.2, 0.0], **f64), torch.tensor([0.3, -0.2, 0.1], **f64)]
    # float64, two steps: the same formula agrees with torch to ~1e-16.
    _run(submission, param, grads, rtol=1e-10, atol=1e-14)


@check(points=1)
def test_five_steps_float32(submission, device):
    param = randn(4, 3, seed=1, device=device)
    grads = [randn(4, 3, seed=10 + k, device=device) for k in range(5)]
    # float32: a few ulps per step on values of size ~1 (torch uses lerp and addcdiv, rounding differently).
    _run(submission, param, grads, rtol=1e-5, atol=1e-7)
