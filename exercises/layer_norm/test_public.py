"""Public checks for layer_norm: the worked example and the basic contract."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn


@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([[1.0, 2.0, 3.0, 6.0]], device=device)
    w, b = torch.ones(4, device=device), torch.zeros(4, device=device)
    # A mean, a variance and a square root in float32: a few ulps.
    assert_tensor(submission.layer_norm(x, w, b), F.layer_norm(x, (4,), w, b), rtol=1e-5, atol=1e-6)


@check(points=1)
def test_random_rows(submission, device):
    x = randn(4, 6, seed=41, device=device, scale=2.0)
    w, b = randn(6, seed=42, device=device), randn(6, seed=43, device=device)
    assert_tensor(submission.layer_norm(x, w, b), F.layer_norm(x, (6,), w, b), rtol=1e-5, atol=1e-5)
