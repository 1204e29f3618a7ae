"""Public checks for quantize_int8: the worked example and the round-trip error bound."""

import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn


@check(points=1)
def test_worked_example(submission, device):
    w = torch.tensor([[127.0, 0.5, 1.5, -2.5], [1.984375, -0.9921875, 0.4921875, 0.0], [0.0, 0.0, 0.0, 0.0]], device=device)
    q, scale = assert_tuple(submission.quantize(w), 2)
    expected_q = torch.tensor([[127, 0, 2, -2], [127, -64, 32, 0], [0, 0, 0, 0]], dtype=torch.int8, device=device)
    assert_tensor(q, expected_q, rtol=0, atol=0, what="q")
    # One division by 127 in float32: within an ulp of torch.
    assert_tensor(scale, w.abs().amax(dim=1) / 127, rtol=1e-6, atol=0, what="scale")


@check(points=1)
def test_round_trip_error_is_at_most_half_a_step(submission, device):
    w = randn(5, 9, seed=1101, device=device, scale=0.3)
    q, scale = assert_tuple(submission.quantize(w), 2)
    w_hat = submission.dequantize(q, scale)
    assert_tensor(w_hat, w, rtol=0, atol=float(scale.max()), what="dequantized weights")  # coarse first
    err = (w - w_hat).abs().amax(dim=1)  # (rows,)
    # Half a step, plus float32 rounding of the product and of the scale (a few ulps of 127·scale).
    if bool((err > scale / 2 * (1 + 1e-5) + 1e-7).any()):
        raise CheckFailure("|w − dequantize(quantize(w))| exceeds scale / 2 on some row")
