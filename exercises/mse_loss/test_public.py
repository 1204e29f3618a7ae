"""Public checks for mse_loss: the worked example and a random matrix."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn


@check(points=1)
def test_worked_example(submission, device):
    y_pred = torch.tensor([2.5, 0.0, 2.0, 8.0], device=device)
    y_true = torch.tensor([3.0, -0.5, 2.0, 7.0], device=device)
    # Every step is exact in float32 here: 0.375.
    assert_tensor(submission.mse_loss(y_pred, y_true), torch.tensor(0.375, device=device), rtol=0, atol=0)


@check(points=1)
def test_matrix_float32(submission, device):
    y_pred, y_true = randn(6, 5, seed=81, device=device), randn(6, 5, seed=82, device=device)
    # float32: torch's pairwise summation against another order differs by a few ulps.
    assert_tensor(submission.mse_loss(y_pred, y_true), F.mse_loss(y_pred, y_true), rtol=1e-5, atol=1e-7)
