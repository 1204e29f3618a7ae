"""Public checks for gelu: the worked example and the basic contract."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn


@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([-1.0, 0.0, 1.0, 2.0], device=device)
    # float32 erf and two products: a few ulps.
    assert_tensor(submission.gelu(x), F.gelu(x), rtol=1e-5, atol=1e-7)


@check(points=1)
def test_matrix_float32(submission, device):
    x = randn(5, 7, seed=61, device=device, scale=2.0)
    assert_tensor(submission.gelu(x), F.gelu(x), rtol=1e-5, atol=1e-6)
