"""Hidden checks for flash_attention: dtypes, tiling edges, causal alignment, shapes and large scores."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# Outputs are convex combinations of O(1) values; the tiled sums round differently from the fused
# kernel: float32 within 2e-5, float64 within 1e-12.
TOL = {torch.float32: dict(rtol=2e-5, atol=2e-5), torch.float64: dict(rtol=1e-12, atol=1e-12)}


def qkv(lead: tuple, tq: int, tk: int, d: int, dv: int, seed: int, dtype=torch.float32, device="cpu", scale=1.0):
    return (randn(*lead, tq, d, seed=seed, dtype=dtype, device=device, scale=scale),
            randn(*lead, tk, d, seed=seed + 1, dtype=dtype, device=device, scale=scale),
            randn(*lead, tk, dv, seed=seed + 2, dtype=dtype, device=device))


def oracle(q, k, v, causal=False):
    # Causal masks align bottom-right: query i of Tq sees keys 0 .. Tk - Tq + i (is_causal=True would
    # align them top-left when Tq != Tk, so the mask is built here).
    if not causal:
        return F.scaled_dot_product_attention(q, k, v)
    tq, tk = q.shape[-2], k.shape[-2]
    keep = torch.ones(tq, tk, dtype=torch.bool, device=q.device).tril(tk - tq)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=keep)


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values(submission, device, dtype):
    q, k, v = qkv((2, 3), 37, 37, 16, 16, seed=1610, dtype=dtype, device=device)
    assert_tensor(submission.flash_attention(q, k, v, block_size=8), oracle(q, k, v), **TOL[dtype])


@check(points=1)
def test_query_and_key_lengths_differ(submission, device):
    # Tq ≠ Tk and d ≠ dv, blocks that divide neither.
    q, k, v = qkv((2,), 13, 29, 8, 5, seed=1620, dtype=torch.float64, device=device)
    assert_tensor(submission.flash_attention(q, k, v, block_size=6), oracle(q, k, v), **TOL[torch.float64])


@check(points=1)
def test_scale_uses_key_width(submission, device):
    q, k, v = qkv((3,), 9, 11, 16, 3, seed=1625, dtype=torch.float64, device=device)
    assert_tensor(submission.flash_attention(q, k, v, block_size=4), oracle(q, k, v), **TOL[torch.float64])


@check(points=2)
def test_running_maximum_grows(submission, device):
    # Keys sorted so that every new key tile holds a larger score than all before it: the running
    # sums must be rescaled at every tile.
    q = randn(2, 10, 4, seed=1630, dtype=torch.float64, device=device).abs() + 0.5
    k = torch.linspace(-3.0, 3.0, 40, dtype=torch.float64, device=device)[:, None].expand(40, 4).contiguous()
    k = k.expand(2, 40, 4).contiguous()
    v = randn(2, 40, 6, seed=1631, dtype=torch.float64, device=device)
    assert_tensor(submission.flash_attention(q, k, v, block_size=8), oracle(q, k, v), **TOL[torch.float64])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_causal(submission, device, dtype):
    q, k, v = qkv((2, 2), 23, 23, 8, 8, seed=1640, dtype=dtype, device=device)
    for block in (2, 5, 8, 64):
        assert_tensor(submission.flash_attention(q, k, v, causal=True, block_size=block), oracle(q, k, v, True),
                      **TOL[dtype], what=f"result with block_size={block}")


@check(points=1)
def test_causal_is_aligned_bottom_right(submission, device):
    # Fewer queries than keys (a chunk of new tokens after a cached prefix): query i sees keys
    # 0 .. Tk - Tq + i; the offsets are not multiples of the block.
    for tq, tk, seed in ((6, 15, 1650), (9, 26, 1660)):
        q, k, v = qkv((2,), tq, tk, 4, 5, seed=seed, dtype=torch.float64, device=device)
        assert_tensor(submission.flash_attention(q, k, v, causal=True, block_size=4), oracle(q, k, v, True),
                      **TOL[torch.float64], what=f"result for Tq={tq}, Tk={tk}")


@check(points=1)
def test_block_size_one_and_larger_than_sequence(submission, device):
    q, k, v = qkv((3,), 7, 10, 4, 4, seed=1670, device=device)
    for block in (1, 100):
        assert_tensor(submission.flash_attention(q, k, v, block_size=block), oracle(q, k, v), **TOL[torch.float32],
                      what=f"result with block_size={block}")


@check(points=1)
def test_no_leading_dimensions(submission, device):
    q, k, v = qkv((), 12, 19, 6, 7, seed=1680, dtype=torch.float64, device=device)
    assert_tensor(submission.flash_attention(q, k, v, causal=True, block_size=5), oracle(q, k, v, True),
                  **TOL[torch.float64])


@check(points=1)
def test_batch_and_heads(submission, device):
    q, k, v = qkv((2, 3, 1), 11, 11, 4, 6, seed=1690, device=device)  # (B, H, 1, T, d): three leading dims
    assert_tensor(submission.flash_attention(q, k, v, block_size=4), oracle(q, k, v), **TOL[torch.float32])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_large_scores_stay_finite(submission, device, dtype):
    # Scores of several hundred: exp overflows without the running maximum.
    q, k, v = qkv((2,), 9, 21, 8, 4, seed=1700, dtype=dtype, device=device, scale=12.0)
    assert_tensor(submission.flash_attention(q, k, v, block_size=4), oracle(q, k, v), **TOL[dtype])


@check(points=1)
def test_single_query(submission, device):
    # One decoding step: the newest query sees every key, causal or not (bottom-right alignment).
    q, k, v = qkv((4,), 1, 33, 8, 8, seed=1710, device=device)
    for causal in (False, True):
        assert_tensor(submission.flash_attention(q, k, v, causal=causal, block_size=16), oracle(q, k, v, causal),
                      **TOL[torch.float32], what=f"result with causal={causal}")
