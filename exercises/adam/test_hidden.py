"""Hidden checks for adam: trajectories against torch.optim.Adam, eps, hyperparameters, large t."""

import math

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, rand, randn

DTYPES = [torch.float32, torch.float64]
NAMES = ("param", "m", "v")


def _tol(dtype, scale=1.0, p_scale=1.0):
    """Per-quantity tolerances for gradients of size ``scale`` and parameters of size ``p_scale``.

    float32: torch rounds differently (lerp, addcmul, addcdiv) by a few ulps per step, and m can
    cancel towards 0, so absolute slack is a few ulps of the terms: 1e-6·scale for m, 1e-6·scale²
    for v, 1e-7·p_scale for param. float64: the same at ~1e-15; 1e-10 relative still catches a
    float32 constant (errors ~1e-8).
    """
    if dtype == torch.float32:
        return dict(param=dict(rtol=1e-5, atol=1e-7 * p_scale), m=dict(rtol=1e-5, atol=1e-6 * scale),
                    v=dict(rtol=1e-5, atol=1e-6 * scale ** 2))
    return dict(param=dict(rtol=1e-10, atol=1e-15 * p_scale), m=dict(rtol=1e-10, atol=1e-14 * scale),
                v=dict(rtol=1e-10, atol=1e-14 * scale ** 2))


def _torch_adam(param, grads, state=None, **hp):
    """(param, m, v) after each step of a real torch.optim.Adam over ``grads``.

    ``state`` = (m, v, steps already taken) starts it mid-run; None starts from zero moments.
    """
    p = param.detach().clone()
    opt = torch.optim.Adam([p], **hp)
    if state is not None:
        m, v, done = state
        opt.state[p] = {"step": torch.tensor(float(done), dtype=torch.float32),
                        "exp_avg": m.clone(), "exp_avg_sq": v.clone()}
    out = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        st = opt.state[p]
        out.append((p.detach().clone(), st["exp_avg"].clone(), st["exp_avg_sq"].clone()))
    return out


def _run(submission, param, grads, tol, state=None, hp=None):
    """Feed the submission its own (param, m, v) back step after step; compare every step with torch."""
    hp = hp or {}
    torch_hp = {}
    if hp:
        torch_hp = dict(lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])
    expected = _torch_adam(param, grads, state, **torch_hp)
    m, v, done = state if state is not None else (torch.zeros_like(param), torch.zeros_like(param), 0)
    p = param
    for k, (g, want) in enumerate(zip(grads, expected)):
        t = done + k + 1
        p, m, v = assert_tuple(submission.adam_step(p, g, m, v, t, **hp), 3)
        for name, got, ref in zip(NAMES, (p, m, v), want):
            assert_tensor(got, ref, **tol[name], what=f"{name} after a step")


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_fifty_steps(submission, device, dtype):
    # Defaults, zero moments, t = 1..50; gradient sizes vary from step to step.
    kw = dict(dtype=dtype, device=device)
    param = randn(7, 3, seed=500, **kw)
    grads = [randn(7, 3, seed=600 + k, scale=0.1 + 0.05 * (k % 7), **kw) for k in range(50)]
    _run(submission, param, grads, _tol(dtype, scale=0.5))


@check(points=1)
def test_first_step(submission, device):
    # t = 1 alone: m̂ = g and sqrt(v̂) = |g|, so the step is lr·g/(|g| + eps), about lr·sign(g).
    param = randn(5, 2, seed=510, dtype=torch.float64, device=device)
    grads = [randn(5, 2, seed=511, dtype=torch.float64, device=device)]
    _run(submission, param, grads, _tol(torch.float64))


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_tiny_gradients(submission, device, dtype):
    # Gradients ~1e-9, so sqrt(v̂) ~ 1e-9 sits below eps = 1e-8 and where eps goes decides the step.
    # Parameters ~1e-3 keep the steps (~1e-4) visible against the parameters' own rounding.
    kw = dict(dtype=dtype, device=device)
    param = randn(6, 4, seed=520, scale=1e-3, **kw)
    grads = [randn(6, 4, seed=530 + k, scale=1e-9, **kw) for k in range(20)]
    _run(submission, param, grads, _tol(dtype, scale=1e-9, p_scale=1e-3))


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_other_hyperparameters(submission, device, dtype):
    kw = dict(dtype=dtype, device=device)
    hp = dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6)
    param = randn(3, 5, seed=540, **kw)
    grads = [randn(3, 5, seed=550 + k, **kw) for k in range(12)]
    _run(submission, param, grads, _tol(dtype, scale=1.0), hp=hp)


@check(points=1)
@pytest.mark.parametrize("t", [10_000, 1_000_000], ids=["t=1e4", "t=1e6"])
def test_large_step_numbers(submission, device, t):
    # Mid-run: non-zero moments and a step count far along, three more steps.
    kw = dict(dtype=torch.float64, device=device)
    m = randn(4, 6, seed=560, scale=0.1, **kw)
    v = rand(4, 6, seed=561, low=1e-4, high=1e-2, **kw)
    param = randn(4, 6, seed=562, **kw)
    grads = [randn(4, 6, seed=563 + k, scale=0.1, **kw) for k in range(3)]
    _run(submission, param, grads, _tol(torch.float64, scale=0.1), state=(m, v, t - 1))


@check(points=1)
def test_resumes_from_given_moments(submission, device):
    # Step 4 onwards from moments the caller supplies: the update must use the m and v passed in.
    kw = dict(dtype=torch.float64, device=device)
    m = randn(2, 9, seed=570, scale=0.3, **kw)
    v = rand(2, 9, seed=571, low=0.01, high=0.2, **kw)
    param = randn(2, 9, seed=572, **kw)
    grads = [randn(2, 9, seed=573 + k, **kw) for k in range(4)]
    _run(submission, param, grads, _tol(torch.float64), state=(m, v, 3))


@check(points=1)
def test_shapes(submission, device):
    # 0-d, one element and 3-d parameters; results keep each shape.
    for i, shape in enumerate([(), (1,), (2, 3, 4)]):
        kw = dict(dtype=torch.float64, device=device)
        # Drawn flat and reshaped: a 0-d shape has no sizes to pass to randn.
        param = randn(math.prod(shape), seed=580 + i, **kw).reshape(shape)
        grads = [randn(math.prod(shape), seed=590 + 10 * i + k, **kw).reshape(shape) for k in range(3)]
        _run(submission, param, grads, _tol(torch.float64))


@check(points=1)
def test_non_contiguous_inputs(submission, device):
    kw = dict(dtype=torch.float32, device=device)
    param = randn(5, 8, seed=600, **kw).t()                          # (8, 5), transposed
    grad = randn(8, 10, seed=601, **kw)[:, ::2]                      # (8, 5), stride 2
    m = randn(5, 8, seed=602, scale=0.1, **kw).t()
    v = rand(8, 15, seed=603, low=0.01, high=0.1, **kw)[:, ::3]      # (8, 5), stride 3
    _run(submission, param, [grad], _tol(torch.float32, scale=0.3), state=(m, v, 6))


@check(points=1)
def test_returns_new_moments(submission, device):
    # The second and third results are the moments m and v (not m̂, v̂, not the old ones).
    kw = dict(dtype=torch.float64, device=device)
    param, grad = randn(3, 4, seed=610, **kw), randn(3, 4, seed=611, **kw)
    m, v = randn(3, 4, seed=612, scale=0.2, **kw), rand(3, 4, seed=613, low=0.01, high=0.1, **kw)
    _, m_new, v_new = assert_tuple(submission.adam_step(param, grad, m, v, 2), 3)
    _, m_ref, v_ref = _torch_adam(param, [grad], state=(m, v, 1))[0]
    tol = _tol(torch.float64)
    assert_tensor(m_new, m_ref, **tol["m"], what="m")
    assert_tensor(v_new, v_ref, **tol["v"], what="v")


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares param, grad, m and v after the call with what was sent.
    kw = dict(dtype=torch.float32, device=device)
    param, grad = randn(6, 5, seed=620, **kw), randn(6, 5, seed=621, **kw)
    m, v = randn(6, 5, seed=622, scale=0.1, **kw), rand(6, 5, seed=623, low=0.01, high=0.1, **kw)
    result = assert_tuple(submission.adam_step(param, grad, m, v, 3), 3)
    if any(type(r) is not torch.Tensor for r in result):
        raise CheckFailure("adam_step must return three tensors")
