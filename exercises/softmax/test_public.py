"""Public checks for softmax: the worked example and the basic contract."""

import torch

from grader.checks import assert_tensor, check, randn


@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([1.0, 2.0, 3.0], device=device)
    # float32 rounding of exp and one division: a few ulps.
    assert_tensor(submission.softmax(x), torch.softmax(x, dim=-1), rtol=1e-6, atol=1e-7)


@check(points=1)
def test_rows_of_a_matrix(submission, device):
    x = randn(4, 6, seed=21, device=device, scale=3.0)
    assert_tensor(submission.softmax(x, dim=-1), torch.softmax(x, dim=-1), rtol=1e-5, atol=1e-7)
