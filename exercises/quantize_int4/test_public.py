"""Public checks for quantize_int4: the worked example in both formats and the round-trip bound."""

import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn

W = [[7.0, -3.5, 1.2, 0.0, 0.14, -0.35, 0.05, -0.07]]  # the statement's row, g = 4


@check(points=1)
def test_worked_example_int4(submission, device):
    w = torch.tensor(W, device=device)
    packed, scales = assert_tuple(submission.quantize_int4(w, 4), 2)
    assert_tensor(packed, torch.tensor([[0x7C, 0x10, 0x39, 0x1F]], dtype=torch.uint8, device=device), rtol=0, atol=0,
                  what="packed")
    # One division by 7 in float32: within an ulp.
    assert_tensor(scales, torch.tensor([[1.0, 0.35 / 7]], device=device), rtol=1e-6, atol=0, what="scales")
    w_hat = submission.dequantize_int4(packed, scales)
    assert_tensor(w_hat, torch.tensor([[7.0, -4.0, 1.0, 0.0, 0.15, -0.35, 0.05, -0.05]], device=device), rtol=1e-6,
                  atol=0, what="dequantized")


@check(points=1)
def test_worked_example_nf4(submission, device):
    w = torch.tensor(W, device=device)
    packed, absmax = assert_tuple(submission.quantize_nf4(w, 4), 2)
    assert_tensor(packed, torch.tensor([[0xF2, 0x97, 0xC0, 0x95]], dtype=torch.uint8, device=device), rtol=0, atol=0,
                  what="packed")
    assert_tensor(absmax, torch.tensor([[7.0, 0.35]], device=device), rtol=0, atol=0, what="absmax")
    # The NF4 levels of codes 15, 2, 9, 7 and 12, 0, 9, 5 (bitsandbytes' table) times absmax.
    levels = torch.tensor([[1.0, -0.5250730514526367, 0.16093020141124725, 0.0],
                           [0.44070982933044434, -1.0, 0.16093020141124725, -0.18477343022823334]], device=device)
    expected = (levels * torch.tensor([[7.0], [0.35]], device=device)).reshape(1, 8)
    assert_tensor(submission.dequantize_nf4(packed, absmax), expected, rtol=1e-6, atol=0, what="dequantized")


@check(points=1)
def test_round_trip_within_half_a_step(submission, device):
    w = randn(4, 24, seed=1301, device=device, scale=0.3)  # 3 groups of 8 per row
    packed, scales = assert_tuple(submission.quantize_int4(w, 8), 2)
    if type(packed) is not torch.Tensor or packed.dtype != torch.uint8 or tuple(packed.shape) != (4, 12):
        raise CheckFailure("packed is not a (4, 12) uint8 tensor", f"got {getattr(packed, 'dtype', type(packed))} "
                                                                   f"{tuple(getattr(packed, 'shape', ()))}")
    assert_tensor(scales, w.view(4, 3, 8).abs().amax(dim=-1) / 7, rtol=1e-6, atol=0, what="scales")
    w_hat = submission.dequantize_int4(packed, scales)
    assert_tensor(w_hat, w, rtol=0, atol=float(scales.max()), what="dequantized")  # coarse first
    err = (w - w_hat).abs().view(4, 3, 8).amax(dim=-1)  # (rows, groups)
    # Half a step, plus float32 rounding of the product and of the scale (a few ulps of 7·scale).
    if bool((err > scales / 2 * (1 + 1e-5) + 1e-7).any()):
        raise CheckFailure("|w − dequantize(quantize(w))| exceeds scale / 2 in some group")
