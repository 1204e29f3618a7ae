"""Hidden checks for quantize_int8: dtypes, ties, zero and extreme rows, shapes, strides, dequantize."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn

DTYPES = [torch.float32, torch.float64]
# scale = max|w| / 127: one division, so within an ulp of torch (float32 1e-6, float64 1e-14 relative).
SCALE_TOL = {torch.float32: dict(rtol=1e-6, atol=0.0), torch.float64: dict(rtol=1e-14, atol=0.0)}


def expected(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(codes, scale, w / scale) exactly as the statement writes them."""
    scale = w.abs().amax(dim=1) / 127
    ratio = w / torch.where(scale > 0, scale, torch.ones_like(scale))[:, None]
    return torch.round(ratio).clamp(-127, 127).to(torch.int8), scale, ratio


def assert_codes(q: object, w: torch.Tensor, what: str = "q") -> None:
    """q equals round(w / scale), except one off where w / scale is within 1e-4 of a half-way point.

    An answer that divides in another order (w * (127 / max)) differs from w / scale by a few
    ulps (float32: ~1e-5 at 127), which can flip the rounding only right at a half.
    """
    codes, _, ratio = expected(w)
    if type(q) is not torch.Tensor or q.dtype != torch.int8:
        raise CheckFailure(f"{what} is not an int8 tensor", f"got {getattr(q, 'dtype', type(q).__name__)}")
    assert_tensor(q.to(torch.int16), codes.to(torch.int16), rtol=0, atol=1, what=what)  # shape, device, ±1
    near_half = ((ratio - ratio.floor()) - 0.5).abs() < 1e-4
    off = q.to(torch.int16) != codes.to(torch.int16)
    if bool((off & ~near_half).any()):
        raise CheckFailure(f"{what} has wrong codes", f"{int((off & ~near_half).sum())} of {q.numel()} codes differ "
                                                      "from round(w / scale)")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_codes_and_scales(submission, device, dtype):
    w = randn(7, 13, seed=1201, dtype=dtype, device=device, scale=0.05)
    q, scale = assert_tuple(submission.quantize(w), 2)
    assert_tensor(scale, expected(w)[1], **SCALE_TOL[dtype], what="scale")
    assert_codes(q, w)


@check(points=1)
def test_rows_have_their_own_scale(submission, device):
    # Rows of very different magnitudes: a single scale for the matrix zeroes the small rows.
    w = randn(6, 11, seed=1202, dtype=torch.float64, device=device)
    w = w * torch.tensor([1e-3, 1.0, 50.0, 0.02, 7.0, 1e-6], dtype=torch.float64, device=device)[:, None]
    q, scale = assert_tuple(submission.quantize(w), 2)
    assert_tensor(scale, expected(w)[1], **SCALE_TOL[torch.float64], what="scale")
    assert_codes(q, w)


@check(points=1)
def test_halves_round_to_even(submission, device):
    # Row maxima 127 and 127/4: scales 1 and 1/4 exactly, so w / scale is exactly a half below.
    w = torch.tensor([[127.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5],
                      [31.75, 0.125, 0.375, 0.625, -0.125, -0.375, -0.625, 26.375]], device=device)
    q, _ = assert_tuple(submission.quantize(w), 2)
    codes = torch.tensor([[127, 0, 2, 2, 0, -2, -2, 4], [127, 0, 2, 2, 0, -2, -2, 106]], dtype=torch.int8,
                         device=device)
    assert_tensor(q, codes, rtol=0, atol=0, what="q")


@check(points=1)
def test_largest_magnitude_maps_to_127(submission, device):
    # The largest |w| of each row gets ±127 (its sign), and -128 never appears.
    w = randn(9, 17, seed=1203, device=device, scale=3.0)
    w[4] = -w[4].abs()  # a row whose extreme is negative
    q, _ = assert_tuple(submission.quantize(w), 2)
    assert_codes(q, w)
    if bool((q == -128).any()):
        raise CheckFailure("q uses -128", "the codes are symmetric: [-127, 127]")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_zero_rows(submission, device, dtype):
    w = randn(4, 6, seed=1204, dtype=dtype, device=device)
    w[1] = 0.0
    w[3] = 0.0
    q, scale = assert_tuple(submission.quantize(w), 2)
    assert_tensor(scale, expected(w)[1], **SCALE_TOL[dtype], what="scale")  # exactly 0 on the zero rows
    assert_codes(q, w)
    w_hat = submission.dequantize(q, scale)
    assert_tensor(w_hat[[1, 3]], torch.zeros(2, 6, dtype=dtype, device=device), rtol=0, atol=0,
                  what="dequantized zero rows")


@check(points=1)
def test_tiny_and_huge_rows(submission, device):
    # float32 rows around 1e-30 and 1e30: w / scale is O(1) either way; nothing under- or overflows.
    w = randn(3, 8, seed=1205, device=device)
    w = w * torch.tensor([1e-30, 1.0, 1e30], device=device)[:, None]
    q, scale = assert_tuple(submission.quantize(w), 2)
    assert_tensor(scale, expected(w)[1], **SCALE_TOL[torch.float32], what="scale")
    assert_codes(q, w)


@check(points=1)
def test_shapes_one_row_one_column(submission, device):
    for shape, seed in (((1, 10), 1206), ((10, 1), 1207), ((1, 1), 1208)):
        w = randn(*shape, seed=seed, device=device)
        q, scale = assert_tuple(submission.quantize(w), 2)
        assert_tensor(scale, expected(w)[1], **SCALE_TOL[torch.float32], what=f"scale for {shape}")
        assert_codes(q, w, what=f"q for {shape}")


@check(points=1)
def test_wide_matrix(submission, device):
    w = randn(12, 5, seed=1209, device=device).t()  # (5, 12): more columns than rows
    q, scale = assert_tuple(submission.quantize(w), 2)
    assert_tensor(scale, expected(w)[1], **SCALE_TOL[torch.float32], what="scale")
    assert_codes(q, w)


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_dequantize_given_codes(submission, device, dtype):
    # Codes and scales made here (rows ≠ cols): q[i, j] · scale[i], exactly one rounding.
    g = torch.Generator().manual_seed(1210)
    q = torch.randint(-127, 128, (3, 7), generator=g, dtype=torch.int8).to(device)
    scale = torch.tensor([0.5, 1e-3, 3.25], dtype=dtype, device=device)
    tol = dict(rtol=1e-6, atol=0.0) if dtype == torch.float32 else dict(rtol=1e-15, atol=0.0)
    assert_tensor(submission.dequantize(q, scale), q.to(dtype) * scale[:, None], **tol)


@check(points=1)
def test_round_trip_bound_wide_range(submission, device):
    w = randn(16, 24, seed=1211, dtype=torch.float64, device=device)
    w = w * torch.logspace(-4, 4, 16, dtype=torch.float64, device=device)[:, None]
    q, scale = assert_tuple(submission.quantize(w), 2)
    w_hat = submission.dequantize(q, scale)
    if type(w_hat) is not torch.Tensor or w_hat.shape != w.shape or w_hat.dtype != torch.float64:
        raise CheckFailure("dequantize returned the wrong shape or dtype")
    err = (w - w_hat).abs().amax(dim=1)
    # Half a step plus float64 rounding (1e-12 of a step is far above it and far below any real error).
    if bool((err > scale / 2 * (1 + 1e-12)).any()):
        raise CheckFailure("|w − dequantize(quantize(w))| exceeds scale / 2 on some row")
