"""Hidden checks for gelu: dtypes, the negative tail, extremes, shapes, unchanged inputs."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# torch computes x/2 · (1 + erf(x/√2)). For x < -3 the bracket cancels to a few ulps of 1, so an
# answer written with erfc (more accurate) or a different erf may differ by |x|·ulp absolute:
# atol 1e-6 (float32) and 1e-13 (float64); elsewhere a few ulps relative. The tanh
# approximation is off by up to ~5e-4 and fails both.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-13)}


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values_match_torch(submission, device, dtype):
    x = randn(3, 4, 5, seed=601, dtype=dtype, device=device, scale=3.0)
    assert_tensor(submission.gelu(x), F.gelu(x), **TOL[dtype])


@check(points=1)
def test_negative_tail_float64(submission, device):
    # gelu(x) for x in [-8, -2] is tiny and depends on the exact erf: approximations show here.
    x = torch.linspace(-8.0, -2.0, 61, dtype=torch.float64, device=device)
    assert_tensor(submission.gelu(x), F.gelu(x), rtol=1e-9, atol=1e-13)


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_extreme_inputs_are_finite(submission, device, dtype):
    x = torch.tensor([-1e4, -1000.0, -40.0, -10.0, 10.0, 40.0, 1000.0, 1e4], dtype=dtype, device=device)
    assert_tensor(submission.gelu(x), F.gelu(x), **TOL[dtype])


@check(points=1)
def test_zero_dim(submission, device):
    x = torch.tensor(0.75, device=device)
    assert_tensor(submission.gelu(x), F.gelu(x), **TOL[torch.float32])


@check(points=1)
def test_empty_and_odd_shapes(submission, device):
    for shape in [(0,), (1, 1), (2, 1, 3, 1, 5)]:
        x = randn(*shape, seed=602, device=device, scale=2.0)
        assert_tensor(submission.gelu(x), F.gelu(x), **TOL[torch.float32], what=f"result for {shape}")


@check(points=1)
def test_non_contiguous_input(submission, device):
    x = randn(6, 8, seed=603, device=device, scale=3.0).t()[::2]  # (4, 6), strided
    assert_tensor(submission.gelu(x), F.gelu(x), **TOL[torch.float32])


@check(points=1)
def test_identity_with_negation(submission, device):
    # gelu(x) - gelu(-x) = x for every x, since Φ(x) + Φ(-x) = 1.
    x = randn(200, seed=604, dtype=torch.float64, device=device, scale=3.0)
    assert_tensor(submission.gelu(x) - submission.gelu(-x), x, rtol=1e-12, atol=1e-13, what="gelu(x) - gelu(-x)")


@check(points=1)
def test_input_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    x = randn(64, seed=605, device=device)
    submission.gelu(x)
