"""Public checks for normalize: the worked example and a random matrix."""

import torch

from grader.checks import assert_tensor, assert_tuple, check, randn


def oracle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    lo, hi = x.amin(dim=0), x.amax(dim=0)
    span = hi - lo
    return (x - lo) / torch.where(span > 0, span, torch.ones_like(span)), lo, hi


@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([[1.0, 10.0, 5.0], [3.0, 30.0, 5.0], [2.0, 20.0, 5.0]], device=device)
    scaled, lo, hi = assert_tuple(submission.normalize(x), 3)
    expected = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.5, 0.5, 0.0]], device=device)
    # Small integers: every step is exact in float32 up to one rounding of the division.
    assert_tensor(scaled, expected, rtol=1e-6, atol=1e-7, what="x_scaled")
    assert_tensor(lo, x[0], rtol=0, atol=0, what="col_min")
    assert_tensor(hi, x[1], rtol=0, atol=0, what="col_max")


@check(points=1)
def test_random_matrix_float32(submission, device):
    x = randn(9, 4, seed=61, device=device, scale=3.0)
    scaled, lo, hi = assert_tuple(submission.normalize(x), 3)
    want, want_lo, want_hi = oracle(x)
    # float32: (x - m) / s against (x - m) * (1 / s) differs by a couple of ulps of values <= 1.
    assert_tensor(scaled, want, rtol=1e-5, atol=1e-6, what="x_scaled")
    assert_tensor(lo, want_lo, rtol=0, atol=0, what="col_min")
    assert_tensor(hi, want_hi, rtol=0, atol=0, what="col_max")
