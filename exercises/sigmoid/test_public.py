"""Public checks for sigmoid: the worked example and the basic contract."""

import torch

from grader.checks import assert_tensor, check, randn


@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([-2.0, 0.0, 3.0], device=device)
    # float32 rounding of exp: a few ulps.
    assert_tensor(submission.sigmoid(x), torch.sigmoid(x), rtol=1e-6, atol=1e-7)


@check(points=1)
def test_matrix_float32(submission, device):
    x = randn(5, 7, seed=11, device=device, scale=4.0)
    assert_tensor(submission.sigmoid(x), torch.sigmoid(x), rtol=1e-5, atol=1e-7)
