"""Public checks for xavier_init: shape, dtype, bounds and reproducibility on a small matrix."""

import math

import torch

from grader.checks import CheckFailure, assert_tensor, check


@check(points=1)
def test_shape_dtype_and_bounds(submission, device):
    w = submission.xavier_init(3, 5, 0)
    if type(w) is not torch.Tensor:
        raise CheckFailure("result is not a tensor", f"got {type(w).__qualname__}")
    if tuple(w.shape) != (3, 5) or w.dtype != torch.float32 or w.device.type != "cpu":
        raise CheckFailure("result has the wrong shape, dtype or device",
                           f"got {tuple(w.shape)} {w.dtype} on {w.device}; expected (3, 5) float32 on cpu")
    a = math.sqrt(6 / 8)
    # float32 rounding of (2u - 1)·a may land one ulp past a.
    if float(w.abs().max()) > a * (1 + 1e-6):
        raise CheckFailure("an entry lies outside [-a, a]", f"a = {a:.6f}, largest |w| = {float(w.abs().max()):.6f}")


@check(points=1)
def test_same_seed_same_matrix(submission, device):
    first, again = submission.xavier_init(4, 6, 123), submission.xavier_init(4, 6, 123)
    if type(first) is not torch.Tensor:
        raise CheckFailure("result is not a tensor", f"got {type(first).__qualname__}")
    # Bitwise equality: the same generator state gives the same draws.
    assert_tensor(again, first, rtol=0, atol=0, what="a second matrix drawn with the same seed")
