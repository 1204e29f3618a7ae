"""Hidden checks for quantize_int4: codes, scales, nibble order, the NF4 code book, ties, zero and
extreme groups, group sizes, odd group counts, strides, dtypes, dequantization of given bytes."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn

DTYPES = [torch.float32, torch.float64]
# scale = absmax / 7 (one division) and absmax itself: within an ulp (float32 1e-6, float64 1e-14).
SCALE_TOL = {torch.float32: dict(rtol=1e-6, atol=0.0), torch.float64: dict(rtol=1e-14, atol=0.0)}

# The NF4 code book as published: QLoRA (Dettmers et al., 2023, arXiv:2305.14314) and bitsandbytes,
# bitsandbytes/functional.py, get_4bit_type("nf4"). Written here in full, not imported.
NF4_PUBLISHED = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
                 -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
                 0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
                 0.7229568362236023, 1.0]


def nibbles(packed: torch.Tensor) -> torch.Tensor:
    """(rows, cols/2) uint8 -> (rows, cols) int64 in 0..15, element 2m from the high nibble of byte m."""
    out = torch.empty(packed.shape[0], 2 * packed.shape[1], dtype=torch.int64, device=packed.device)
    out[:, 0::2] = packed.to(torch.int64) // 16
    out[:, 1::2] = packed.to(torch.int64) % 16
    return out


def pack(codes: torch.Tensor) -> torch.Tensor:
    """(rows, cols) int64 nibbles 0..15 -> (rows, cols/2) uint8, high nibble first."""
    return (codes[:, 0::2] * 16 + codes[:, 1::2]).to(torch.uint8)


def signed(n: torch.Tensor) -> torch.Tensor:
    return torch.where(n >= 8, n - 16, n)


def groups(w: torch.Tensor, g: int) -> torch.Tensor:
    return w.reshape(w.shape[0], w.shape[1] // g, g)


def int4_expected(w, g):
    """(codes in [-7, 7], scales, w / scale) exactly as the statement writes them."""
    scale = groups(w, g).abs().amax(dim=-1) / 7
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    ratio = (groups(w, g) / safe[..., None]).reshape(w.shape)
    return torch.round(ratio).clamp(-7, 7).to(torch.int64), scale, ratio


def nf4_expected(w, g):
    """(codes 0..15, absmax, w / absmax): the nearest published level by brute force over the 16."""
    absmax = groups(w, g).abs().amax(dim=-1)
    safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    x = (groups(w, g) / safe[..., None]).reshape(w.shape)
    levels = torch.tensor(NF4_PUBLISHED, dtype=torch.float64, device=w.device)
    dist = (x.to(torch.float64)[..., None] - levels).abs()  # (rows, cols, 16)
    return dist.argmin(dim=-1), absmax, x


def check_packed(packed, w, what="packed"):
    """packed is uint8 (rows, cols/2) on w's device: exactly half a byte per weight."""
    if type(packed) is not torch.Tensor or packed.dtype != torch.uint8:
        raise CheckFailure(f"{what} is not a uint8 tensor", f"got {getattr(packed, 'dtype', type(packed).__name__)}")
    want = (w.shape[0], w.shape[1] // 2)
    if tuple(packed.shape) != want or packed.device.type != w.device.type:
        raise CheckFailure(f"{what} has the wrong shape or device", f"got {tuple(packed.shape)}, expected {want}")


def assert_int4(packed, w, g, what="codes"):
    """Codes round(w / scale), one off only where w / scale is within 1e-4 of a half-way point.

    Dividing in another order (w * (7 / absmax)) moves w / scale by a few ulps, which can flip the
    rounding only right at a half.
    """
    check_packed(packed, w)
    codes, _, ratio = int4_expected(w, g)
    got = signed(nibbles(packed))
    off = got != codes
    near_half = ((ratio - ratio.floor()) - 0.5).abs() < 1e-4
    if bool((off & ~(near_half & ((got - codes).abs() == 1))).any()):
        raise CheckFailure(f"{what} are wrong", f"{int(off.sum())} of {w.numel()} codes differ from round(w / scale)")


def assert_nf4(packed, w, g, what="codes"):
    """Nearest-level codes; a neighbouring code only where x is within 1e-6 of the midpoint of the two."""
    check_packed(packed, w)
    codes, _, x = nf4_expected(w, g)
    got = nibbles(packed)
    levels = torch.tensor(NF4_PUBLISHED, dtype=torch.float64, device=w.device)
    off = got != codes
    mid = (levels[got.clamp(0, 15)] + levels[codes]) / 2
    tie = ((got - codes).abs() == 1) & ((x.to(torch.float64) - mid).abs() < 1e-6)
    if bool((off & ~tie).any()):
        raise CheckFailure(f"{what} are wrong", f"{int(off.sum())} of {w.numel()} codes are not the nearest level")


# ---- int4 ------------------------------------------------------------------------------------

@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_int4_codes_and_scales(submission, device, dtype):
    # 5 rows, 24 columns, groups of 8: an odd number of groups (3) per row.
    w = randn(5, 24, seed=1401, dtype=dtype, device=device, scale=0.05)
    packed, scales = assert_tuple(submission.quantize_int4(w, 8), 2)
    assert_tensor(scales, int4_expected(w, 8)[1], **SCALE_TOL[dtype], what="scales")
    assert_int4(packed, w, 8)


@check(points=1)
def test_int4_nibble_order(submission, device):
    # Scale 1 (absmax 7): the codes are the values. Bytes (high, low): (7, 1) -> 0x71, (-1, 2) -> 0xF2,
    # (-7, 0) -> 0x90, (3, -4) -> 0x3C.
    w = torch.tensor([[7.0, 1.0, -1.0, 2.0, -7.0, 0.0, 3.0, -4.0]], device=device)
    packed, _ = assert_tuple(submission.quantize_int4(w, 8), 2)
    assert_tensor(packed, torch.tensor([[0x71, 0xF2, 0x90, 0x3C]], dtype=torch.uint8, device=device), rtol=0, atol=0,
                  what="packed")


@check(points=1)
def test_int4_halves_round_to_even(submission, device):
    # Group maxima 7 and 1.75: scales 1 and 1/4 exactly, so w / scale is exactly a half below.
    w = torch.tensor([[7.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5],
                      [1.75, 0.125, 0.375, 0.625, -0.125, -0.375, -0.625, 1.125]], device=device)
    packed, _ = assert_tuple(submission.quantize_int4(w, 8), 2)
    codes = torch.tensor([[7, 0, 2, 2, 0, -2, -2, 4], [7, 0, 2, 2, 0, -2, -2, 4]], device=device)
    assert_tensor(packed, pack(codes & 0xF), rtol=0, atol=0, what="packed")


@check(points=1)
def test_int4_absmax_is_exact(submission, device):
    # The largest |w| of each group gets ±7 and comes back as itself (7 · (absmax / 7), an ulp);
    # -8 is never produced.
    w = randn(6, 32, seed=1402, device=device, scale=2.0)
    w[2, :16] = -w[2, :16].abs()  # a group whose extreme is negative
    packed, scales = assert_tuple(submission.quantize_int4(w, 16), 2)
    assert_int4(packed, w, 16)
    if bool((signed(nibbles(packed)) == -8).any()):
        raise CheckFailure("a code is -8", "the codes are symmetric: [-7, 7]")
    w_hat = submission.dequantize_int4(packed, scales)
    idx = groups(w, 16).abs().argmax(dim=-1, keepdim=True)
    assert_tensor(groups(w_hat, 16).gather(-1, idx), groups(w, 16).gather(-1, idx), rtol=1e-6, atol=0,
                  what="dequantized group maxima")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_int4_zero_groups(submission, device, dtype):
    w = randn(3, 12, seed=1403, dtype=dtype, device=device)
    w[0, 4:8] = 0.0
    w[2, :] = 0.0
    packed, scales = assert_tuple(submission.quantize_int4(w, 4), 2)
    assert_tensor(scales, int4_expected(w, 4)[1], **SCALE_TOL[dtype], what="scales")  # exactly 0 there
    assert_int4(packed, w, 4)
    w_hat = submission.dequantize_int4(packed, scales)
    assert_tensor(w_hat[2], torch.zeros(12, dtype=dtype, device=device), rtol=0, atol=0, what="dequantized zero row")
    assert_tensor(w_hat[0, 4:8], torch.zeros(4, dtype=dtype, device=device), rtol=0, atol=0,
                  what="dequantized zero group")


@check(points=1)
def test_int4_tiny_and_huge_groups(submission, device):
    # float32 groups around 1e-30 and 1e30: w / scale is O(1) either way; nothing under- or overflows.
    w = randn(2, 12, seed=1404, device=device)
    w = w * torch.tensor([1e-30, 1.0, 1e30], device=device).repeat_interleave(4)[None, :]
    packed, scales = assert_tuple(submission.quantize_int4(w, 4), 2)
    assert_tensor(scales, int4_expected(w, 4)[1], **SCALE_TOL[torch.float32], what="scales")
    assert_int4(packed, w, 4)


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_int4_dequantize_given_bytes(submission, device, dtype):
    # Every byte value, nibbles 1000 (-8) included: sign extension and the group of each element.
    g = torch.Generator().manual_seed(1405)
    packed = torch.randint(0, 256, (3, 10), generator=g, dtype=torch.uint8).to(device)  # 20 columns
    scales = torch.tensor([[0.5, 1e-3, 3.25, 2.0, 0.125], [1.0, 7.0, 0.01, 0.0, 4.0], [0.3, 0.2, 0.1, 5.0, 1e3]],
                          dtype=dtype, device=device)  # groups of 4
    expected = (groups(signed(nibbles(packed)).to(dtype), 4) * scales[..., None]).reshape(3, 20)
    tol = dict(rtol=1e-6, atol=0.0) if dtype == torch.float32 else dict(rtol=1e-15, atol=0.0)
    assert_tensor(submission.dequantize_int4(packed, scales), expected, **tol, what="dequantized")


@check(points=1)
def test_int4_round_trip_bound_wide_range(submission, device):
    w = randn(8, 48, seed=1406, dtype=torch.float64, device=device)
    w = w * torch.logspace(-4, 4, 8 * 3, dtype=torch.float64, device=device).view(8, 3).repeat_interleave(16, dim=1)
    packed, scales = assert_tuple(submission.quantize_int4(w, 16), 2)
    w_hat = submission.dequantize_int4(packed, scales)
    if type(w_hat) is not torch.Tensor or w_hat.shape != w.shape or w_hat.dtype != torch.float64:
        raise CheckFailure("dequantize_int4 returned the wrong shape or dtype")
    err = groups((w - w_hat).abs(), 16).amax(dim=-1)
    # Half a step plus float64 rounding.
    if bool((err > scales / 2 * (1 + 1e-12)).any()):
        raise CheckFailure("|w − dequantize(quantize(w))| exceeds scale / 2 in some group")


# ---- NF4 -------------------------------------------------------------------------------------

@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_nf4_code_book_is_the_published_one(submission, device, dtype):
    # Bytes 0x01, 0x23, ..., 0xEF with absmax 1 decode to the 16 levels in code order, exactly
    # (the published values are float32 numbers; float64 holds them exactly).
    packed = torch.tensor([[0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF]], dtype=torch.uint8, device=device)
    absmax = torch.ones(1, 1, dtype=dtype, device=device)
    assert_tensor(submission.dequantize_nf4(packed, absmax), torch.tensor([NF4_PUBLISHED], dtype=dtype, device=device),
                  rtol=0, atol=0, what="the decoded code book")


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_nf4_codes_are_nearest_levels(submission, device, dtype):
    # 6 rows, 40 columns, groups of 8 (5 per row), normal weights: every level is used.
    w = randn(6, 40, seed=1501, dtype=dtype, device=device, scale=0.02)
    packed, absmax = assert_tuple(submission.quantize_nf4(w, 8), 2)
    assert_tensor(absmax, nf4_expected(w, 8)[1], rtol=0, atol=0, what="absmax")
    assert_nf4(packed, w, 8)


@check(points=1)
def test_nf4_dense_grid(submission, device):
    # x sweeps [-1, 1] finely: each level must win exactly on its own interval between midpoints.
    row = torch.linspace(-1.0, 1.0, 2002, dtype=torch.float64, device=device)[1:-1].view(4, 500)
    w = torch.cat((torch.ones(4, 1, dtype=torch.float64, device=device), row[:, :499]), dim=1)  # absmax 1 per row
    packed, _ = assert_tuple(submission.quantize_nf4(w, 500), 2)
    assert_nf4(packed, w, 500)


@check(points=1)
def test_nf4_nibble_order(submission, device):
    # absmax 1, values on the levels: codes (15, 0), (7, 8), (1, 14) -> 0xF0, 0x78, 0x1E.
    levels = NF4_PUBLISHED
    w = torch.tensor([[levels[15], levels[0], levels[7], levels[8], levels[1], levels[14]]], device=device)
    packed, _ = assert_tuple(submission.quantize_nf4(w, 6), 2)
    assert_tensor(packed, torch.tensor([[0xF0, 0x78, 0x1E]], dtype=torch.uint8, device=device), rtol=0, atol=0,
                  what="packed")


@check(points=1)
def test_nf4_absmax_is_exact(submission, device):
    # The largest |w| of each group is code 15 or 0 and comes back exactly (±1 · absmax).
    w = randn(4, 30, seed=1502, device=device, scale=3.0)
    w[1, 10:20] = -w[1, 10:20].abs()
    packed, absmax = assert_tuple(submission.quantize_nf4(w, 10), 2)
    assert_nf4(packed, w, 10)
    w_hat = submission.dequantize_nf4(packed, absmax)
    idx = groups(w, 10).abs().argmax(dim=-1, keepdim=True)
    assert_tensor(groups(w_hat, 10).gather(-1, idx), groups(w, 10).gather(-1, idx), rtol=0, atol=0,
                  what="dequantized group maxima")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_nf4_zero_groups(submission, device, dtype):
    w = randn(3, 16, seed=1503, dtype=dtype, device=device)
    w[1, 8:] = 0.0
    w[2] = 0.0
    packed, absmax = assert_tuple(submission.quantize_nf4(w, 8), 2)
    assert_tensor(absmax, nf4_expected(w, 8)[1], rtol=0, atol=0, what="absmax")
    assert_nf4(packed, w, 8)  # code 7 (the level 0) on the zero groups
    w_hat = submission.dequantize_nf4(packed, absmax)
    assert_tensor(w_hat[2], torch.zeros(16, dtype=dtype, device=device), rtol=0, atol=0, what="dequantized zero row")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_nf4_dequantize_given_bytes(submission, device, dtype):
    g = torch.Generator().manual_seed(1504)
    packed = torch.randint(0, 256, (4, 6), generator=g, dtype=torch.uint8).to(device)  # 12 columns
    absmax = torch.tensor([[0.5, 2.0, 1e-3], [3.0, 0.0, 1.0], [7.5, 0.25, 10.0], [1.0, 1.0, 0.01]], dtype=dtype,
                          device=device)  # groups of 4
    levels = torch.tensor(NF4_PUBLISHED, dtype=dtype, device=device)
    expected = (groups(levels[nibbles(packed)], 4) * absmax[..., None]).reshape(4, 12)
    tol = dict(rtol=1e-6, atol=0.0) if dtype == torch.float32 else dict(rtol=1e-15, atol=0.0)
    assert_tensor(submission.dequantize_nf4(packed, absmax), expected, **tol, what="dequantized")


@check(points=1)
def test_nf4_round_trip_is_nearest(submission, device):
    # Each dequantized value is a nearest level times absmax: no other level is closer to w.
    w = randn(5, 64, seed=1505, dtype=torch.float64, device=device)
    packed, absmax = assert_tuple(submission.quantize_nf4(w, 32), 2)
    w_hat = submission.dequantize_nf4(packed, absmax)
    if type(w_hat) is not torch.Tensor or w_hat.shape != w.shape or w_hat.dtype != torch.float64:
        raise CheckFailure("dequantize_nf4 returned the wrong shape or dtype")
    levels = torch.tensor(NF4_PUBLISHED, dtype=torch.float64, device=device)
    scale = absmax.repeat_interleave(32, dim=1)
    best = (w[..., None] - levels * scale[..., None]).abs().amin(dim=-1)
    if bool(((w - w_hat).abs() > best * (1 + 1e-12) + 1e-15).any()):
        raise CheckFailure("some dequantized value is not the nearest NF4 level")


# ---- both ------------------------------------------------------------------------------------

@check(points=1)
def test_group_sizes_two_and_whole_row(submission, device):
    w = randn(3, 14, seed=1601, device=device)
    for g in (2, 14):  # 7 groups of 2 (one byte each), one group per row
        packed, scales = assert_tuple(submission.quantize_int4(w, g), 2, what=f"quantize_int4 for g={g}")
        assert_tensor(scales, int4_expected(w, g)[1], **SCALE_TOL[torch.float32], what=f"int4 scales for g={g}")
        assert_int4(packed, w, g, what=f"int4 codes for g={g}")
        packed, absmax = assert_tuple(submission.quantize_nf4(w, g), 2, what=f"quantize_nf4 for g={g}")
        assert_tensor(absmax, nf4_expected(w, g)[1], rtol=0, atol=0, what=f"nf4 absmax for g={g}")
        assert_nf4(packed, w, g, what=f"nf4 codes for g={g}")


@check(points=1)
def test_groups_run_along_rows(submission, device):
    # Groups of different magnitudes along a row (a 100x outlier group in the middle): groups
    # taken across the wrong axis mix them.
    w = randn(4, 18, seed=1602, device=device)
    w[:, 6:12] *= 100.0
    packed, scales = assert_tuple(submission.quantize_int4(w, 6), 2)
    assert_tensor(scales, int4_expected(w, 6)[1], **SCALE_TOL[torch.float32], what="int4 scales")
    assert_int4(packed, w, 6)
    packed, absmax = assert_tuple(submission.quantize_nf4(w, 6), 2)
    assert_tensor(absmax, nf4_expected(w, 6)[1], rtol=0, atol=0, what="nf4 absmax")
    assert_nf4(packed, w, 6)


@check(points=1)
def test_non_contiguous_weights(submission, device):
    w = randn(16, 5, seed=1603, device=device).t()  # (5, 16), strided
    packed, scales = assert_tuple(submission.quantize_int4(w, 4), 2)
    assert_tensor(scales, int4_expected(w, 4)[1], **SCALE_TOL[torch.float32], what="int4 scales")
    assert_int4(packed, w, 4)
    packed, absmax = assert_tuple(submission.quantize_nf4(w, 4), 2)
    assert_nf4(packed, w, 4)


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    w = randn(2, 8, seed=1604, device=device)
    packed, scales = submission.quantize_int4(w, 4)
    submission.dequantize_int4(packed, scales)
    packed, absmax = submission.quantize_nf4(w, 4)
    submission.dequantize_nf4(packed, absmax)
