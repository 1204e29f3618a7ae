"""Hidden checks for sigmoid: dtypes, shapes, extremes, in-place changes and forbidden routes."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# Tolerances: float32 within a few ulps of torch (1e-6 relative, 1e-7 absolute near zero);
# float64 within 1e-12 relative, which any exp-based formula meets.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-7), torch.float64: dict(rtol=1e-12, atol=1e-15)}


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values_match_torch(submission, device, dtype):
    x = randn(3, 4, 5, seed=101, dtype=dtype, device=device, scale=6.0)
    assert_tensor(submission.sigmoid(x), torch.sigmoid(x), **TOL[dtype])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_extreme_inputs_are_finite(submission, device, dtype):
    x = torch.tensor([-1e4, -1000.0, -100.0, -30.0, 30.0, 100.0, 1000.0, 1e4], dtype=dtype, device=device)
    y = submission.sigmoid(x)
    assert_tensor(y, torch.sigmoid(x), **TOL[dtype])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_negative_tail_keeps_precision(submission, device, dtype):
    # For x << 0, σ(x) ≈ e^x is tiny but representable (down to 1.6e-38 in float32, 1e-304 in
    # float64), and its log matters later (the BCE of σ(-50) is 50). 1 / (1 + exp(-x)) keeps full
    # relative precision there (torch: ~2e-7 in float32, ~3e-16 in float64); forms that compute
    # 1 − (a number near 1) round it to 0. Relative tolerance only: atol would hide exactly that.
    lo = -87.0 if dtype == torch.float32 else -700.0
    x = torch.linspace(lo, -10.0, 97, dtype=dtype, device=device)
    assert_tensor(submission.sigmoid(x), torch.sigmoid(x), rtol=1e-5 if dtype == torch.float32 else 1e-12, atol=0)


@check(points=1)
def test_zero_dim(submission, device):
    x = torch.tensor(0.25, device=device)
    assert_tensor(submission.sigmoid(x), torch.sigmoid(x), rtol=1e-6, atol=1e-7)


@check(points=1)
def test_empty_and_odd_shapes(submission, device):
    for shape in [(0,), (1, 1), (2, 1, 3, 1, 5)]:
        x = randn(*shape, seed=7, device=device)
        assert_tensor(submission.sigmoid(x), torch.sigmoid(x), rtol=1e-5, atol=1e-7, what=f"result for {shape}")


@check(points=1)
def test_non_contiguous_input(submission, device):
    x = randn(6, 8, seed=3, device=device, scale=3.0).t()[::2]
    assert_tensor(submission.sigmoid(x), torch.sigmoid(x), rtol=1e-5, atol=1e-7)


@check(points=1)
def test_symmetry_and_range(submission, device):
    x = randn(1000, seed=5, dtype=torch.float64, device=device, scale=10.0)
    y, y_neg = submission.sigmoid(x), submission.sigmoid(-x)
    assert_tensor(y + y_neg, torch.ones_like(x), rtol=0, atol=1e-12, what="σ(x) + σ(−x)")
    if bool(((y < 0) | (y > 1)).any()):
        raise CheckFailure("result leaves [0, 1]")


@check(points=1)
def test_input_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    x = randn(64, seed=9, device=device)
    submission.sigmoid(x)
