"""Hidden checks for normalize: dtypes, per-column reduction, constant columns, tiny spans, layout."""

import pytest
import torch

from grader.checks import assert_tensor, assert_tuple, check, randn

DTYPES = [torch.float32, torch.float64]
# Scaled values lie in [0, 1]: float32 within a few ulps of 1 (1e-5 relative, 1e-6 absolute);
# float64 within 1e-12 relative, which rules out an epsilon added to the span (1e-8 / span >> 1e-12).
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-14)}


def oracle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    lo, hi = x.amin(dim=0), x.amax(dim=0)
    span = hi - lo
    return (x - lo) / torch.where(span > 0, span, torch.ones_like(span)), lo, hi


def compare(result, x: torch.Tensor, dtype: torch.dtype) -> None:
    scaled, lo, hi = assert_tuple(result, 3)
    want, want_lo, want_hi = oracle(x)
    # min and max are selections of existing entries: exact.
    assert_tensor(lo, want_lo, rtol=0, atol=0, what="col_min")
    assert_tensor(hi, want_hi, rtol=0, atol=0, what="col_max")
    assert_tensor(scaled, want, **TOL[dtype], what="x_scaled")


def columns_of_different_scales(n: int, d: int, seed: int, dtype: torch.dtype, device) -> torch.Tensor:
    # Column j has spread ~10^(j mod 4 - 1) and offset 100·(j − d/2): rows and columns differ in scale.
    j = torch.arange(d, dtype=torch.float64)
    spread = 10.0 ** (j % 4 - 1)
    offset = 100.0 * (j - d / 2)
    return (randn(n, d, seed=seed, dtype=torch.float64) * spread + offset).to(dtype).to(device)


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values_match(submission, device, dtype):
    x = columns_of_different_scales(37, 6, seed=71, dtype=dtype, device=device)
    compare(submission.normalize(x), x, dtype)


@check(points=1)
def test_wide_matrix(submission, device):
    # More columns than rows: a reduction over the wrong dimension cannot line up by accident.
    x = columns_of_different_scales(3, 11, seed=72, dtype=torch.float64, device=device)
    compare(submission.normalize(x), x, torch.float64)


@check(points=1)
def test_constant_column_maps_to_zero(submission, device):
    x = randn(8, 5, seed=73, device=device)
    x[:, 2] = 4.5
    x[:, 4] = -1.25
    compare(submission.normalize(x), x, torch.float32)


@check(points=1)
def test_single_row(submission, device):
    # One sample: every column is constant, so every scaled value is 0.
    x = randn(1, 7, seed=74, dtype=torch.float64, device=device)
    compare(submission.normalize(x), x, torch.float64)


@check(points=1)
def test_tiny_span(submission, device):
    # A column that varies by 1e-7 only must still reach exactly [0, 1]: no epsilon in the denominator.
    x = randn(10, 3, seed=75, dtype=torch.float64, device=device)
    x[:, 1] = 2.0 + 1e-7 * torch.linspace(0.0, 1.0, 10, dtype=torch.float64, device=device).flip(0)
    compare(submission.normalize(x), x, torch.float64)


@check(points=1)
def test_non_contiguous_input(submission, device):
    base = columns_of_different_scales(12, 10, seed=76, dtype=torch.float32, device=device)
    x = base.t()[::2]  # (5, 12), strides (2, 10): a transposed, strided view
    compare(submission.normalize(x), x, torch.float32)


@check(points=1)
def test_applies_to_new_data(submission, device):
    # The returned min and max must reproduce the transform on held-out rows.
    x = columns_of_different_scales(20, 4, seed=77, dtype=torch.float64, device=device)
    train, new = x[:15], x[15:]
    _, lo, hi = assert_tuple(submission.normalize(train), 3)
    want_lo, want_hi = train.amin(dim=0), train.amax(dim=0)
    assert_tensor(lo, want_lo, rtol=0, atol=0, what="col_min")
    assert_tensor(hi, want_hi, rtol=0, atol=0, what="col_max")
    assert_tensor((new - lo) / (hi - lo), (new - want_lo) / (want_hi - want_lo), rtol=1e-12, atol=1e-14,
                  what="new data scaled with the returned min and max")


@check(points=1)
def test_input_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    x = randn(6, 3, seed=78, device=device)
    submission.normalize(x)
