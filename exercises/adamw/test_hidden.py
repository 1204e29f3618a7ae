"""Hidden checks for adamw: torch.optim.AdamW over many steps, resumed state, decay, ε, dtypes, views."""

import pytest
import torch

from grader.checks import assert_tensor, assert_tuple, check, rand, randn

DTYPES = [torch.float32, torch.float64]
# float32: a few roundings per step, accumulated over at most ten steps; float64: the same at 1e-16.
TOL = {torch.float32: dict(rtol=2e-5, atol=2e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def torch_adamw(param, grads, lr, betas, eps, weight_decay, m=None, v=None, t0=0, cls=torch.optim.AdamW):
    """The oracle: a real torch optimiser, resumed at step t0 with moments (m, v) when given."""
    p = param.detach().clone().requires_grad_(True)
    opt = cls([p], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    if m is not None:
        opt.state[p] = {"step": torch.tensor(float(t0)), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}
    for g in grads:
        p.grad = g.clone()
        opt.step()
    state = opt.state[p]
    return p.detach().clone(), state["exp_avg"].clone(), state["exp_avg_sq"].clone()


def run(submission, param, grads, lr, betas, eps, weight_decay, m=None, v=None, t0=0):
    """Chain the submission's steps as a training loop would: its outputs are the next inputs."""
    p = param
    m = torch.zeros_like(param) if m is None else m
    v = torch.zeros_like(param) if v is None else v
    for t, g in enumerate(grads, start=t0 + 1):
        p, m, v = assert_tuple(submission.adamw_step(p, g, m, v, t, lr, betas[0], betas[1], eps, weight_decay),
                               3, what=f"result of step {t}")
    return p, m, v


def compare(got, expected, tol, when=""):
    for what, a, e in zip(("param", "m", "v"), got, expected):
        assert_tensor(a, e, **tol, what=f"{what}{when}")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_first_step_matches_torch(submission, device, dtype):
    param = randn(7, 5, seed=21, dtype=dtype, device=device)
    grad = randn(7, 5, seed=22, dtype=dtype, device=device)
    args = (3e-3, (0.9, 0.999), 1e-8, 0.01)
    compare(run(submission, param, [grad], *args), torch_adamw(param, [grad], *args), TOL[dtype])


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_ten_steps_match_torch(submission, device, dtype):
    param = randn(4, 6, 3, seed=31, dtype=dtype, device=device)
    grads = [randn(4, 6, 3, seed=40 + i, dtype=dtype, device=device, scale=0.5 + i / 4) for i in range(10)]
    args = (2e-2, (0.85, 0.98), 1e-8, 0.05)
    compare(run(submission, param, grads, *args), torch_adamw(param, grads, *args), TOL[dtype], " after 10 steps")


@check(points=2)
def test_resumes_mid_training(submission, device):
    # Step 25 from a saved state: β^t must use this step's t (not t − 1), at any t, not just t = 1.
    dtype = torch.float64
    param = randn(9, 2, seed=51, dtype=dtype, device=device)
    m = randn(9, 2, seed=52, dtype=dtype, device=device, scale=0.1)
    v = rand(9, 2, seed=53, dtype=dtype, device=device, low=1e-4, high=2e-2)
    grads = [randn(9, 2, seed=54 + i, dtype=dtype, device=device) for i in range(2)]
    args = (1e-2, (0.9, 0.99), 1e-8, 0.1)
    got = run(submission, param, grads, *args, m=m, v=v, t0=24)
    compare(got, torch_adamw(param, grads, *args, m=m, v=v, t0=24), TOL[dtype], " at steps 25-26")


@check(points=2)
def test_weight_decay_is_decoupled(submission, device):
    # A strong decay with a large lr: decaying through the gradient (L2), after the Adam update, or
    # without the lr factor each moves θ by far more than the tolerance.
    dtype = torch.float64
    param = randn(3, 8, seed=61, dtype=dtype, device=device, scale=3.0)
    grads = [randn(3, 8, seed=62 + i, dtype=dtype, device=device, scale=0.1) for i in range(3)]
    args = (0.1, (0.9, 0.999), 1e-8, 0.5)
    compare(run(submission, param, grads, *args), torch_adamw(param, grads, *args), TOL[dtype])


@check(points=1)
def test_no_weight_decay_is_adam(submission, device):
    dtype = torch.float64
    param = randn(11, seed=71, dtype=dtype, device=device)
    grads = [randn(11, seed=72 + i, dtype=dtype, device=device) for i in range(4)]
    args = (1e-3, (0.9, 0.999), 1e-8, 0.0)
    compare(run(submission, param, grads, *args), torch_adamw(param, grads, *args, cls=torch.optim.Adam),
            TOL[dtype])


@check(points=1)
def test_eps_added_after_bias_correction(submission, device):
    # Tiny gradients and a large ε: √v̂ and ε are of the same order, so ε inside the square root or
    # added before dividing by √(1 − β2^t) gives a visibly different step.
    dtype = torch.float64
    param = randn(6, 5, seed=81, dtype=dtype, device=device)
    grads = [randn(6, 5, seed=82 + i, dtype=dtype, device=device, scale=1e-4) for i in range(3)]
    args = (1e-2, (0.9, 0.999), 1e-5, 0.0)
    compare(run(submission, param, grads, *args), torch_adamw(param, grads, *args), TOL[dtype])


@check(points=1)
def test_odd_shapes_and_views(submission, device):
    # A 0-d parameter, a single element, and transposed (non-contiguous) views.
    dtype = torch.float32
    cases = [(), (1,), (5, 7)]
    for i, shape in enumerate(cases):
        n = max(1, torch.Size(shape).numel())  # randn() needs a size: draw n values, then reshape
        param = randn(n, seed=91 + i, dtype=dtype, device=device).reshape(shape)
        grad = randn(n, seed=95 + i, dtype=dtype, device=device).reshape(shape)
        m = randn(n, seed=97 + i, dtype=dtype, device=device, scale=0.1).reshape(shape)
        v = rand(n, seed=99 + i, dtype=dtype, device=device, low=0.01, high=0.1).reshape(shape)
        if len(shape) == 2:
            param, grad, m, v = param.t(), grad.t(), m.t(), v.t()
        args = (1e-2, (0.9, 0.999), 1e-8, 0.01)
        got = run(submission, param, [grad], *args, m=m, v=v, t0=3)
        compare(got, torch_adamw(param, [grad], *args, m=m, v=v, t0=3), TOL[dtype], f" for shape {shape}")


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    param, grad = randn(8, seed=101, device=device), randn(8, seed=102, device=device)
    m, v = randn(8, seed=103, device=device, scale=0.1), rand(8, seed=104, device=device)
    submission.adamw_step(param, grad, m, v, 5, 1e-2, 0.9, 0.999, 1e-8, 0.1)
