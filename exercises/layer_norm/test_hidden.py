"""Hidden checks for layer_norm: dtypes, eps, small variance, large offsets, shapes, unchanged inputs."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# Normalised values are O(1): float32 within 1e-5 of torch (a mean, a variance and a root, each a
# few ulps, times the weight); float64 within 1e-10.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}


def params(d: int, seed: int, dtype=torch.float32, device="cpu"):
    return randn(d, seed=seed, dtype=dtype, device=device), randn(d, seed=seed + 1, dtype=dtype, device=device)


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values_match_torch(submission, device, dtype):
    x = randn(3, 5, 7, seed=401, dtype=dtype, device=device, scale=3.0)
    w, b = params(7, 402, dtype, device)
    assert_tensor(submission.layer_norm(x, w, b), F.layer_norm(x, (7,), w, b), **TOL[dtype])


@check(points=1)
def test_biased_variance_on_short_rows(submission, device):
    # With d = 3, dividing by d - 1 instead of d changes every value by a factor of sqrt(3/2).
    x = randn(6, 3, seed=403, dtype=torch.float64, device=device, scale=2.0)
    w, b = params(3, 404, torch.float64, device)
    assert_tensor(submission.layer_norm(x, w, b), F.layer_norm(x, (3,), w, b), **TOL[torch.float64])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_small_variance_eps_inside_root(submission, device, dtype):
    # Variance ~1e-6 against eps = 1e-5: eps dominates, and where it goes (inside or outside
    # the root, or left out) changes the result by orders of magnitude.
    x = randn(4, 16, seed=405, dtype=dtype, device=device, scale=1e-3)
    w, b = params(16, 406, dtype, device)
    assert_tensor(submission.layer_norm(x, w, b), F.layer_norm(x, (16,), w, b, eps=1e-5), **TOL[dtype])


@check(points=1)
def test_eps_argument_is_used(submission, device):
    x = randn(5, 9, seed=407, dtype=torch.float64, device=device, scale=0.5)
    w, b = params(9, 408, torch.float64, device)
    assert_tensor(submission.layer_norm(x, w, b, eps=0.25), F.layer_norm(x, (9,), w, b, eps=0.25),
                  **TOL[torch.float64])


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_large_common_offset(submission, device, dtype):
    # Unit-variance rows around 1e3 (float32) or 1e6 (float64): mean(x²) - mean(x)² cancels
    # catastrophically, while (x - mean)² stays accurate. The float32 input itself is only
    # resolved to ~6e-5 at 1e3, so torch and an honest two-pass answer agree to ~2e-4: 1e-3.
    offset, tol = (1e3, dict(rtol=1e-3, atol=1e-3)) if dtype == torch.float32 else (1e6, dict(rtol=1e-8, atol=1e-8))
    x = randn(6, 64, seed=409, dtype=dtype, device=device) + offset
    w, b = params(64, 410, dtype, device)
    assert_tensor(submission.layer_norm(x, w, b), F.layer_norm(x, (64,), w, b), **tol)


@check(points=1)
def test_weight_and_bias_roles(submission, device):
    # Distinct gain and shift of very different sizes: swapping them, or dropping one, shows.
    x = randn(3, 8, seed=411, dtype=torch.float64, device=device)
    w = randn(8, seed=412, dtype=torch.float64, device=device) * 5.0
    b = randn(8, seed=413, dtype=torch.float64, device=device) + 10.0
    assert_tensor(submission.layer_norm(x, w, b), F.layer_norm(x, (8,), w, b), **TOL[torch.float64])


@check(points=1)
def test_shapes(submission, device):
    for shape in [(10,), (1, 6), (2, 3, 4, 5), (1, 1, 1)]:
        x = randn(*shape, seed=414, device=device, scale=2.0)
        w, b = params(shape[-1], 415, device=device)
        assert_tensor(submission.layer_norm(x, w, b), F.layer_norm(x, shape[-1:], w, b), **TOL[torch.float32],
                      what=f"result for shape {shape}")


@check(points=1)
def test_non_contiguous_input(submission, device):
    x = randn(12, 5, seed=416, device=device, scale=2.0).t()[:, ::2]  # (5, 6), strided
    w, b = params(6, 417, device=device)
    assert_tensor(submission.layer_norm(x, w, b), F.layer_norm(x, (6,), w, b), **TOL[torch.float32])


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    x = randn(4, 5, seed=418, device=device)
    w, b = params(5, 419, device=device)
    submission.layer_norm(x, w, b)
