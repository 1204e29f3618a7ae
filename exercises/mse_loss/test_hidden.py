"""Hidden checks for mse_loss: dtypes, shapes, a 0-d result, layouts, mismatched shapes, forbidden routes."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import CheckFailure, StudentError, assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# A mean of squares: float32 summation order changes the last few bits (measured 3.5e-7 relative at
# a million elements), so 1e-5; float64 1e-12.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-7), torch.float64: dict(rtol=1e-12, atol=1e-15)}


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values_match_torch(submission, device, dtype):
    y_pred = randn(4, 5, 6, seed=83, dtype=dtype, device=device, scale=3.0)
    y_true = randn(4, 5, 6, seed=84, dtype=dtype, device=device)
    assert_tensor(submission.mse_loss(y_pred, y_true), F.mse_loss(y_pred, y_true), **TOL[dtype])


@check(points=1)
def test_many_outputs_per_row(submission, device):
    # 3 rows of 50 outputs: averaging over rows only would be 50 times too large.
    y_pred = randn(3, 50, seed=85, dtype=torch.float64, device=device)
    y_true = randn(3, 50, seed=86, dtype=torch.float64, device=device)
    assert_tensor(submission.mse_loss(y_pred, y_true), F.mse_loss(y_pred, y_true), **TOL[torch.float64])


@check(points=1)
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)], ids=["0d", "1", "1x1"])
def test_single_element(submission, device, shape):
    y_pred = torch.full(shape, 1.75, dtype=torch.float64, device=device)
    y_true = torch.full(shape, -0.5, dtype=torch.float64, device=device)
    assert_tensor(submission.mse_loss(y_pred, y_true), F.mse_loss(y_pred, y_true), **TOL[torch.float64])


@check(points=1)
def test_errors_of_both_signs(submission, device):
    # Errors that cancel on average: the mean error is 0, the mean squared error is not.
    y_true = randn(40, seed=87, dtype=torch.float64, device=device)
    offsets = torch.tensor([1.0, -1.0], dtype=torch.float64, device=device).repeat(20)
    y_pred = y_true + offsets
    assert_tensor(submission.mse_loss(y_pred, y_true), F.mse_loss(y_pred, y_true), **TOL[torch.float64])


@check(points=1)
def test_non_contiguous_inputs(submission, device):
    y_pred = randn(9, 7, seed=88, device=device).t()  # (7, 9), transposed view
    y_true = randn(7, 18, seed=89, device=device)[:, ::2]  # (7, 9), strided view
    assert_tensor(submission.mse_loss(y_pred, y_true), F.mse_loss(y_pred, y_true), **TOL[torch.float32])


@check(points=1)
def test_large_input(submission, device):
    y_pred = randn(512, 300, seed=90, device=device, scale=10.0)
    y_true = randn(512, 300, seed=91, device=device)
    assert_tensor(submission.mse_loss(y_pred, y_true), F.mse_loss(y_pred, y_true), **TOL[torch.float32])


@check(points=1)
def test_mismatched_shapes_raise(submission, device):
    # (n, 1) predictions against (n,) targets would broadcast to (n, n): the contract asks for ValueError.
    y_pred = randn(7, 1, seed=92, device=device)
    y_true = randn(7, seed=93, device=device)
    try:
        submission.mse_loss(y_pred, y_true)
    except StudentError as exc:
        if exc.kind == "exception" and exc.type == "ValueError":
            return
        raise
    raise CheckFailure("mismatched shapes were not refused", "expected a ValueError for shapes (7, 1) and (7,)")


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    submission.mse_loss(randn(8, 3, seed=94, device=device), randn(8, 3, seed=95, device=device))
