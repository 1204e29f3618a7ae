"""Public checks for rope: the worked example and a small batch."""

import torch

from grader.checks import assert_tensor, check, randn


def reference(x: torch.Tensor, positions: torch.Tensor, theta: float = 10000.0) -> torch.Tensor:
    """Adjacent pairs as complex numbers times e^{i·angle}, in float64, cast back to x's dtype."""
    d = x.shape[-1]
    freq = theta ** (-torch.arange(d // 2, dtype=torch.float64, device=x.device) * 2 / d)
    angle = positions.to(torch.float64)[:, None] * freq  # (T, d/2)
    pairs = torch.view_as_complex(x.to(torch.float64).reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(pairs * torch.polar(torch.ones_like(angle), angle)).flatten(-2).to(x.dtype)


@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]], device=device)  # (T=2, d=4)
    positions = torch.tensor([0, 1], device=device)
    # Position 0 is unchanged; position 1 turns pair 0 by 1 rad and pair 1 by 0.01 rad. float32: 1e-6.
    assert_tensor(submission.rope(x, positions), reference(x, positions), rtol=1e-5, atol=1e-6)


@check(points=1)
def test_small_batch(submission, device):
    x = randn(3, 6, 8, seed=91, device=device)  # (B=3, T=6, d=8)
    positions = torch.arange(6, device=device)
    assert_tensor(submission.rope(x, positions), reference(x, positions), rtol=1e-5, atol=1e-5)
