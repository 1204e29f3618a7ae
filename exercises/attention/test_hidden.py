"""Hidden checks for attention: dtypes, scaling, mask polarity and broadcasting, blocked rows, extremes."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import CheckFailure, assert_tensor, check, rand, randn

DTYPES = [torch.float32, torch.float64]
# Outputs are convex combinations of O(1) values: float32 within 1e-5 of torch (two matmuls over
# at most 16 terms and a softmax, summed in another order); float64 within 1e-12.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-12, atol=1e-12)}


def qkv(lead: tuple, tq: int, tk: int, d: int, dv: int, seed: int, dtype=torch.float32, device="cpu", scale=1.0):
    q = randn(*lead, tq, d, seed=seed, dtype=dtype, device=device, scale=scale)
    k = randn(*lead, tk, d, seed=seed + 1, dtype=dtype, device=device, scale=scale)
    v = randn(*lead, tk, dv, seed=seed + 2, dtype=dtype, device=device)
    return q, k, v


def random_mask(*shape: int, seed: int, device) -> torch.Tensor:
    """A random boolean mask with at least one True in every row (no fully blocked query)."""
    m = rand(*shape, seed=seed) < 0.6
    m[..., 0] = True
    return m.to(device)


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values_without_mask(submission, device, dtype):
    # Tq != Tk and d != dv, every dimension a different size.
    q, k, v = qkv((2, 3), 5, 7, 8, 6, seed=701, dtype=dtype, device=device)
    assert_tensor(submission.attention(q, k, v), F.scaled_dot_product_attention(q, k, v), **TOL[dtype])


@check(points=1)
def test_scale_uses_key_width(submission, device):
    # d = 16 and dv = 4: scaling by sqrt(dv), or not at all, changes the weights.
    q, k, v = qkv((3,), 4, 6, 16, 4, seed=702, dtype=torch.float64, device=device)
    assert_tensor(submission.attention(q, k, v), F.scaled_dot_product_attention(q, k, v), **TOL[torch.float64])


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_mask_true_means_attend(submission, device, dtype):
    q, k, v = qkv((2, 3), 5, 7, 8, 6, seed=703, dtype=dtype, device=device)
    mask = random_mask(2, 3, 5, 7, seed=704, device=device)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_tensor(submission.attention(q, k, v, mask), expected, **TOL[dtype])


@check(points=1)
def test_mask_broadcasts_over_batch(submission, device):
    # A (Tq, Tk) mask shared by every batch and head.
    q, k, v = qkv((2, 3), 5, 6, 4, 3, seed=705, device=device)
    mask = random_mask(5, 6, seed=706, device=device)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_tensor(submission.attention(q, k, v, mask), expected, **TOL[torch.float32])


@check(points=1)
def test_padding_mask(submission, device):
    # A (B, 1, 1, Tk) key-padding mask: batch b sees only its first lengths[b] keys.
    q, k, v = qkv((3, 2), 4, 6, 5, 7, seed=707, device=device)
    lengths = torch.tensor([6, 2, 4])
    mask = (torch.arange(6)[None, :] < lengths[:, None]).view(3, 1, 1, 6).to(device)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_tensor(submission.attention(q, k, v, mask), expected, **TOL[torch.float32])


@check(points=1)
def test_fully_blocked_row_gives_zeros(submission, device):
    # Query 1 may attend to nothing: its output row is zeros (as scaled_dot_product_attention
    # returns), the other rows are unaffected.
    q, k, v = qkv((2,), 3, 5, 4, 6, seed=708, dtype=torch.float64, device=device)
    mask = random_mask(3, 5, seed=709, device=device)
    mask[1] = False
    out = submission.attention(q, k, v, mask)
    safe = mask.clone()
    safe[1] = True
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=safe)
    expected[:, 1] = 0.0
    assert_tensor(out, expected, **TOL[torch.float64])


@check(points=1)
def test_blocked_rows_per_head(submission, device):
    # A (batch, heads, Tq, Tk) mask that blocks some queries in one head only: each blocked row is
    # zeros in that head alone, so "any key allowed" must be asked along the key axis, not another.
    q, k, v = qkv((2, 3), 4, 5, 4, 6, seed=712, dtype=torch.float64, device=device)
    mask = random_mask(2, 3, 4, 5, seed=713, device=device)
    blocked = [(0, 1, 2), (1, 0, 0), (1, 2, 3)]
    for b, h, t in blocked:
        mask[b, h, t] = False
    out = submission.attention(q, k, v, mask)
    safe = mask.clone()
    for b, h, t in blocked:
        safe[b, h, t] = True
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=safe)
    for b, h, t in blocked:
        expected[b, h, t] = 0.0
    assert_tensor(out, expected, **TOL[torch.float64])


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_large_scores_are_stable(submission, device, dtype):
    # q and k of size ~30: scores in the thousands, exp overflows unless the maximum is subtracted.
    q, k, v = qkv((2,), 4, 6, 8, 5, seed=710, dtype=dtype, device=device, scale=30.0)
    mask = torch.ones(4, 6, dtype=torch.bool, device=device).tril(2)
    # Weights are one-hot to within rounding, so float32 scores of ~1e3 decide them exactly.
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_tensor(submission.attention(q, k, v, mask), expected, **TOL[dtype])


@check(points=1)
def test_unbatched_inputs(submission, device):
    q, k, v = qkv((), 3, 5, 4, 2, seed=711, device=device)
    assert_tensor(submission.attention(q, k, v), F.scaled_dot_product_attention(q, k, v), **TOL[torch.float32])


@check(points=1)
def test_single_query_and_batch_of_one(submission, device):
    # Decoding one token: Tq = 1 against Tk = 9 keys, batch of one.
    q, k, v = qkv((1, 2), 1, 9, 6, 3, seed=712, device=device)
    mask = random_mask(1, 9, seed=713, device=device)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_tensor(submission.attention(q, k, v, mask), expected, **TOL[torch.float32])


@check(points=1)
def test_non_contiguous_inputs(submission, device):
    q, k, v = qkv((2,), 5, 6, 4, 3, seed=714, device=device)
    k = randn(2, 4, 6, seed=715, device=device).transpose(1, 2)  # (2, 6, 4), strided
    v = randn(3, 2, 6, seed=716, device=device).permute(1, 2, 0)  # (2, 6, 3), strided
    assert_tensor(submission.attention(q, k, v), F.scaled_dot_product_attention(q, k, v), **TOL[torch.float32])


@check(points=1)
def test_rows_are_convex_combinations(submission, device):
    # With v = identity, the output rows are the attention weights: non-negative, summing to 1.
    q, k, _ = qkv((3,), 4, 6, 5, 6, seed=717, dtype=torch.float64, device=device, scale=2.0)
    v = torch.eye(6, dtype=torch.float64, device=device).expand(3, 6, 6)
    weights = submission.attention(q, k, v)
    assert_tensor(weights.sum(dim=-1), torch.ones(3, 4, dtype=torch.float64, device=device), rtol=0, atol=1e-12,
                  what="sum of attention weights")
    if bool((weights < 0).any()):
        raise CheckFailure("attention weights are negative")


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument, the mask included, after the call with what was sent.
    q, k, v = qkv((2,), 3, 4, 5, 6, seed=718, device=device)
    submission.attention(q, k, v, random_mask(3, 4, seed=719, device=device))
