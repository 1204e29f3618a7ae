"""Hidden checks for kv_cache: empty and long caches, ten chained steps, dtypes, head counts,
large scores, strided caches, unchanged inputs."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, assert_tuple, check, randn

DTYPES = [torch.float32, torch.float64]
# float32: matmuls over d_model and a softmax over up to a few hundred positions, summed in another
# order than SDPA: 1e-4 relative, 1e-5 near zero. float64: the same at ~1e-15.
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-9, atol=1e-11)}


def full_attention(X, Wq, Wk, Wv, Wo, n_heads):
    """The oracle: causal multi-head attention over the whole sequence X (B, T, d) with SDPA.

    Returns the outputs (B, T, d) and the per-head keys and values (B, H, T, dh).
    """
    B, T, d = X.shape
    q, k, v = ((X @ W.T).view(B, T, n_heads, d // n_heads).transpose(1, 2) for W in (Wq, Wk, Wv))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return out.transpose(1, 2).reshape(B, T, d) @ Wo.T, k, v


def weights(d, seed, dtype, device, qk_scale=1.0):
    scales = (qk_scale, qk_scale, 1.0, 1.0)
    return [randn(d, d, seed=seed + i, dtype=dtype, device=device, scale=s * d ** -0.5) for i, s in enumerate(scales)]


def step_and_compare(submission, X, W, n_heads, tol, past=None):
    """Decode the last token of X from a cache of the others; compare with full attention."""
    y_full, k, v = full_attention(X, *W, n_heads)
    if past is None:
        past = (k[:, :, :-1], v[:, :, :-1])
    got = assert_tuple(submission.decode_step(X[:, -1:], past[0], past[1], *W, n_heads), 3)
    for what, a, e in zip(("y_t", "cache_k", "cache_v"), got, (y_full[:, -1:], k, v)):
        assert_tensor(a, e, **tol, what=what)


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_first_step_empty_cache(submission, device, dtype):
    X = randn(3, 1, 12, seed=11, dtype=dtype, device=device)
    step_and_compare(submission, X, weights(12, 12, dtype, device), 4, TOL[dtype])


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_step_matches_full_attention(submission, device, dtype):
    X = randn(2, 7, 12, seed=21, dtype=dtype, device=device)
    step_and_compare(submission, X, weights(12, 22, dtype, device), 3, TOL[dtype])


@check(points=2)
def test_ten_steps_from_empty(submission, device):
    # A decoding loop: each step's caches are the next step's inputs; every output must equal that
    # position of full causal attention, and the final caches the full keys and values.
    dtype, B, T, H, d = torch.float64, 2, 10, 2, 8
    X = randn(B, T, d, seed=31, dtype=dtype, device=device)
    W = weights(d, 32, dtype, device)
    y_full, k, v = full_attention(X, *W, H)
    K = V = torch.zeros(B, H, 0, d // H, dtype=dtype, device=device)
    for t in range(T):
        y, K, V = assert_tuple(submission.decode_step(X[:, t:t + 1], K, V, *W, H), 3, what=f"result of step {t}")
        assert_tensor(y, y_full[:, t:t + 1], **TOL[dtype], what=f"y_t at step {t}")
    assert_tensor(K, k, **TOL[dtype], what="cache_k after 10 steps")
    assert_tensor(V, v, **TOL[dtype], what="cache_v after 10 steps")


@check(points=1)
def test_long_cache(submission, device):
    X = randn(1, 300, 16, seed=41, dtype=torch.float32, device=device)
    step_and_compare(submission, X, weights(16, 42, torch.float32, device), 4, TOL[torch.float32])


@check(points=1)
def test_one_head_and_one_dim_heads(submission, device):
    dtype = torch.float64
    X = randn(1, 5, 6, seed=51, dtype=dtype, device=device)
    W = weights(6, 52, dtype, device)
    for n_heads in (1, 6):  # dh = 6 and dh = 1
        step_and_compare(submission, X, W, n_heads, TOL[dtype])


@check(points=2)
def test_large_scores_are_stable(submission, device):
    # q·k/√dh in the thousands: exp overflows unless the row maximum is subtracted first.
    dtype = torch.float64
    X = randn(2, 6, 8, seed=61, dtype=dtype, device=device, scale=3.0)
    W = weights(8, 62, dtype, device, qk_scale=20.0)
    step_and_compare(submission, X, W, 2, TOL[dtype])


@check(points=1)
def test_strided_cache(submission, device):
    # A cache stored as (B, T, H, dh) and handed over as a transposed (non-contiguous) view.
    dtype, B, T, H, d = torch.float32, 2, 5, 2, 8
    X = randn(B, T, d, seed=71, dtype=dtype, device=device)
    W = weights(d, 72, dtype, device)
    _, k, v = full_attention(X, *W, H)
    past = tuple(c[:, :, :-1].transpose(1, 2).contiguous().transpose(1, 2) for c in (k, v))
    assert not past[0].is_contiguous()
    step_and_compare(submission, X, W, H, TOL[dtype], past=past)


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument, the caches included, after the call with what was sent.
    X = randn(1, 4, 8, seed=81, device=device)
    W = weights(8, 82, torch.float32, device)
    _, k, v = full_attention(X, *W, 2)
    submission.decode_step(X[:, -1:], k[:, :, :-1], v[:, :, :-1], *W, 2)
