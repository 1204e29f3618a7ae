"""Hidden checks for clip_grad_norm: global norm, no scaling up, zeros, eps, shapes, dtypes, inputs."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn

DTYPES = [torch.float32, torch.float64]
# float32: sums of squares over a few hundred entries and one product per entry, a few ulps apart
# from torch's order; float64 the same at 1e-16.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-7), torch.float64: dict(rtol=1e-12, atol=1e-15)}


def torch_clip(grads, max_norm):
    """The oracle: torch.nn.utils.clip_grad_norm_ on copies held by stand-in parameters."""
    params = [torch.zeros_like(g) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params], total


def formula(grads, max_norm, eps):
    """The statement's formula with an eps of choice (clip_grad_norm_ fixes it at 1e-6)."""
    total = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).to(grads[0].dtype)
    coef = torch.clamp(max_norm / (total + eps), max=1.0)
    return [g * coef for g in grads], total


def compare(got, grads, expected, tol):
    clipped, total = assert_tuple(got, 2)
    clipped = assert_tuple(clipped, len(grads), what="clipped")
    expected_clipped, expected_total = expected
    assert_tensor(total, expected_total, **tol, what="total norm")
    for i, (a, e) in enumerate(zip(clipped, expected_clipped)):
        assert_tensor(a, e, **tol, what=f"clipped[{i}]")


def model_grads(seed, dtype, device, scale=1.0):
    shapes = [(6, 10), (10,), (10, 6), (6,), (3, 5, 2)]
    return [randn(*s, seed=seed + i, dtype=dtype, device=device, scale=scale) for i, s in enumerate(shapes)]


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_clips_to_max_norm(submission, device, dtype):
    grads = model_grads(10, dtype, device)
    compare(submission.clip_grad_norm(grads, 1.0), grads, torch_clip(grads, 1.0), TOL[dtype])


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_small_gradients_unchanged(submission, device, dtype):
    # Global norm ≈ 0.3 < max_norm = 5: coef is clamped at 1, never scales up.
    grads = model_grads(20, dtype, device, scale=0.03)
    compare(submission.clip_grad_norm(grads, 5.0), grads, torch_clip(grads, 5.0), TOL[dtype])


@check(points=2)
def test_norm_is_global(submission, device):
    # One tensor of norm ≈ 4, one of norm ≈ 0.05: both are scaled by the same factor; clipping each
    # tensor by its own norm leaves the small one alone.
    dtype = torch.float64
    grads = [randn(8, 2, seed=31, dtype=dtype, device=device), randn(7, seed=32, dtype=dtype, device=device,
                                                                     scale=0.02)]
    compare(submission.clip_grad_norm(grads, 1.0), grads, torch_clip(grads, 1.0), TOL[dtype])


@check(points=1)
def test_total_norm_is_a_0d_tensor(submission, device):
    for dtype in DTYPES:
        grads = model_grads(40, dtype, device)
        _, total = assert_tuple(submission.clip_grad_norm(grads, 2.0), 2)
        if type(total) is not torch.Tensor:
            raise CheckFailure("total norm is not a tensor", f"got {type(total).__qualname__}")
        assert_tensor(total, torch_clip(grads, 2.0)[1], **TOL[dtype], what=f"total norm ({dtype})")


@check(points=1)
def test_zero_gradients(submission, device):
    # total = 0: coef = max_norm / eps is clamped to 1, and nothing is 0 / 0.
    grads = [torch.zeros(4, 3, device=device), torch.zeros(2, device=device)]
    compare(submission.clip_grad_norm(grads, 1.0), grads, torch_clip(grads, 1.0), TOL[torch.float32])


@check(points=1)
def test_eps_is_used(submission, device):
    # A large eps: coef = max_norm / (total + eps) differs visibly from max_norm / total.
    dtype = torch.float64
    grads = model_grads(50, dtype, device, scale=0.2)
    for eps in (0.5, 0.0):
        got = submission.clip_grad_norm(grads, 0.7, eps)
        compare(got, grads, formula(grads, 0.7, eps), TOL[dtype])


@check(points=1)
def test_odd_shapes(submission, device):
    # A 0-d gradient, an empty one, a single entry, and a transposed (non-contiguous) view.
    dtype = torch.float32
    grads = [torch.tensor(3.0, device=device), torch.zeros(0, 4, device=device),
             randn(1, seed=61, device=device), randn(7, 9, seed=62, device=device).t()]
    compare(submission.clip_grad_norm(grads, 0.25), grads, torch_clip(grads, 0.25), TOL[dtype])


@check(points=1)
def test_single_gradient(submission, device):
    grads = [randn(33, seed=71, dtype=torch.float64, device=device, scale=10.0)]
    compare(submission.clip_grad_norm(grads, 3.0), grads, torch_clip(grads, 3.0), TOL[torch.float64])


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument, inside lists too, after the call with what was sent.
    submission.clip_grad_norm(model_grads(80, torch.float32, device), 0.1)
