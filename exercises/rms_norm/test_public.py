"""Public checks for rms_norm: the worked example and the basic contract."""

import torch

from grader.checks import assert_tensor, check, randn


def reference(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """The formula, computed in float64 and cast back (the oracle, not a hint at speed)."""
    x64 = x.to(torch.float64)
    return (x64 / torch.sqrt(x64.pow(2).mean(dim=-1, keepdim=True) + eps) * weight.to(torch.float64)).to(x.dtype)


@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([[3.0, -4.0]], device=device)  # mean square 12.5
    w = torch.tensor([1.0, 2.0], device=device)
    # A mean, a root and a division in float32: a few ulps.
    assert_tensor(submission.rms_norm(x, w), reference(x, w), rtol=1e-5, atol=1e-6)


@check(points=1)
def test_random_rows(submission, device):
    x = randn(5, 8, seed=51, device=device, scale=2.0)
    w = randn(8, seed=52, device=device)
    assert_tensor(submission.rms_norm(x, w), reference(x, w), rtol=1e-5, atol=1e-5)
