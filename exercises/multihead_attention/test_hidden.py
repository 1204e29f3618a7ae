"""Hidden checks for multihead_attention: head split, weight convention, causality, dtypes, extremes."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import CheckFailure, assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# Four projections over d_model <= 24 terms and a softmax: float32 within 1e-5 of the oracle
# (values are O(1)); float64 within 1e-11.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-11, atol=1e-11)}


def reference(x, Wq, Wk, Wv, Wo, n_heads, causal=True):
    """Projections and head split with torch ops, attention by scaled_dot_product_attention."""
    B, T, d = x.shape
    q, k, v = ((x @ w.T).view(B, T, n_heads, d // n_heads).transpose(1, 2) for w in (Wq, Wk, Wv))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (B, H, T, dh)
    return out.transpose(1, 2).reshape(B, T, d) @ Wo.T


def weights(d: int, seed: int, dtype=torch.float32, device="cpu", scale=None):
    scale = d ** -0.5 if scale is None else scale  # keeps projections O(1)
    return [randn(d, d, seed=seed + i, dtype=dtype, device=device, scale=scale) for i in range(4)]


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_causal_values(submission, device, dtype):
    x = randn(2, 5, 12, seed=801, dtype=dtype, device=device)  # 3 heads of 4
    Ws = weights(12, 802, dtype, device)
    assert_tensor(submission.multihead_attention(x, *Ws, 3), reference(x, *Ws, 3), **TOL[dtype])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_non_causal_values(submission, device, dtype):
    x = randn(3, 4, 10, seed=803, dtype=dtype, device=device)  # 5 heads of 2
    Ws = weights(10, 804, dtype, device)
    expected = reference(x, *Ws, 5, causal=False)
    assert_tensor(submission.multihead_attention(x, *Ws, 5, causal=False), expected, **TOL[dtype])


@check(points=2)
@pytest.mark.parametrize("causal", [True, False], ids=["causal", "bidirectional"])
def test_matches_torch_multihead_attention(submission, device, causal):
    # A second, independent oracle: nn.MultiheadAttention with the same weights (its boolean
    # attn_mask means True = blocked, the opposite of scaled_dot_product_attention's).
    B, T, d, H = 2, 6, 16, 4
    x = randn(B, T, d, seed=805, dtype=torch.float64, device=device)
    Ws = weights(d, 806, torch.float64, device)
    mha = torch.nn.MultiheadAttention(d, H, bias=False, batch_first=True, dtype=torch.float64, device=device)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat(Ws[:3]))
        mha.out_proj.weight.copy_(Ws[3])
        blocked = torch.ones(T, T, dtype=torch.bool, device=device).triu(1) if causal else None
        expected, _ = mha(x, x, x, attn_mask=blocked, need_weights=False)
    assert_tensor(submission.multihead_attention(x, *Ws, H, causal=causal), expected, **TOL[torch.float64])


@check(points=1)
def test_future_does_not_leak(submission, device):
    # Changing positions >= 4 must leave the outputs at positions 0..3 unchanged when causal.
    x = randn(2, 7, 8, seed=807, dtype=torch.float64, device=device)
    Ws = weights(8, 808, torch.float64, device)
    x2 = x.clone()
    x2[:, 4:] = randn(2, 3, 8, seed=809, dtype=torch.float64, device=device)
    y, y2 = submission.multihead_attention(x, *Ws, 2), submission.multihead_attention(x2, *Ws, 2)
    assert_tensor(y2[:, :4], y[:, :4], rtol=0, atol=1e-12, what="outputs before the change")
    if torch.allclose(y2[:, 4:], y[:, 4:]):
        raise CheckFailure("outputs after the change did not change")


@check(points=1)
def test_head_counts(submission, device):
    # One head (plain attention) and one feature per head (dh = 1).
    x = randn(2, 4, 6, seed=810, device=device)
    Ws = weights(6, 811, device=device)
    for h in (1, 6):
        assert_tensor(submission.multihead_attention(x, *Ws, h), reference(x, *Ws, h), **TOL[torch.float32],
                      what=f"result with {h} heads")


@check(points=1)
def test_single_token_and_batch_of_one(submission, device):
    for B, T in [(1, 5), (3, 1)]:
        x = randn(B, T, 8, seed=812 + T, device=device)
        Ws = weights(8, 814, device=device)
        assert_tensor(submission.multihead_attention(x, *Ws, 4), reference(x, *Ws, 4), **TOL[torch.float32],
                      what=f"result for B={B}, T={T}")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_large_scores_are_stable(submission, device, dtype):
    # Inputs of size ~20 and unit-scale weights: scores in the thousands, softmax must not overflow.
    x = randn(2, 5, 8, seed=815, dtype=dtype, device=device, scale=20.0)
    Ws = weights(8, 816, dtype, device, scale=1.0)
    expected = reference(x, *Ws, 2)
    # The weights are one-hot to within rounding; float32 projections of size ~1e3 carry ~1e-4
    # absolute error, so compare relative to the output's size there.
    tol = TOL[dtype] if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-3)
    assert_tensor(submission.multihead_attention(x, *Ws, 2), expected, **tol)


@check(points=1)
def test_non_contiguous_inputs(submission, device):
    x = randn(2, 6, 5, seed=817, device=device).transpose(1, 2)  # (2, 5, 6), strided
    Ws = [w.t() for w in weights(6, 818, device=device)]  # strided weights
    assert_tensor(submission.multihead_attention(x, *Ws, 3), reference(x, *Ws, 3), **TOL[torch.float32])


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    x = randn(2, 3, 4, seed=819, device=device)
    submission.multihead_attention(x, *weights(4, 820, device=device), 2)
