"""Hidden checks for gqa_decode: head grouping, RoPE position, dtypes, empty and long caches, ten
chained steps, theta, large scores, strided caches, unchanged inputs."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn

DTYPES = [torch.float32, torch.float64]
# The oracle rotates in float64 (complex numbers) and casts back; an answer rotates in the input
# dtype. float32: matmuls over d_model, angles at positions up to a few hundred (~1e-5 rad off) and
# a softmax over them, summed in another order than SDPA: 1e-4 relative, 1e-5 near zero (2e-5 for
# the long cache). float64: the same at ~1e-14.
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-9, atol=1e-11)}


def rope(x, positions, theta=10000.0):
    """Adjacent pairs (2i, 2i+1) of x (..., T, dh) as complex numbers times e^{i·p·ω}, in float64."""
    dh = x.shape[-1]
    freq = theta ** (-torch.arange(dh // 2, dtype=torch.float64, device=x.device) * 2 / dh)
    angle = positions.to(torch.float64)[:, None] * freq  # (T, dh/2)
    pairs = torch.view_as_complex(x.to(torch.float64).reshape(*x.shape[:-1], dh // 2, 2).contiguous())
    return torch.view_as_real(pairs * torch.polar(torch.ones_like(angle), angle)).flatten(-2).to(x.dtype)


def attend(q, K, V, H, G, causal):
    """SDPA with every key/value head repeated for its group of consecutive query heads."""
    return F.scaled_dot_product_attention(q, K.repeat_interleave(H // G, dim=1), V.repeat_interleave(H // G, dim=1),
                                          is_causal=causal)


def full_attention(X, Wq, Wk, Wv, Wo, H, G, theta=10000.0):
    """The oracle: causal GQA over the whole sequence X (B, T, d); outputs, rotated keys, values."""
    B, T, d = X.shape
    dh, pos = d // H, torch.arange(T, device=X.device)
    q = rope((X @ Wq.T).view(B, T, H, dh).transpose(1, 2), pos, theta)
    k = rope((X @ Wk.T).view(B, T, G, dh).transpose(1, 2), pos, theta)
    v = (X @ Wv.T).view(B, T, G, dh).transpose(1, 2)
    return attend(q, k, v, H, G, causal=True).transpose(1, 2).reshape(B, T, d) @ Wo.T, k, v


def one_step(x_t, cache_k, cache_v, Wq, Wk, Wv, Wo, H, G, theta=10000.0):
    """The oracle for a given cache: rotate at p = T_past, append, attend with no mask."""
    B, _, d = x_t.shape
    dh, pos = d // H, torch.tensor([cache_k.shape[2]], device=x_t.device)
    q = rope((x_t @ Wq.T).view(B, 1, H, dh).transpose(1, 2), pos, theta)
    k = rope((x_t @ Wk.T).view(B, 1, G, dh).transpose(1, 2), pos, theta)
    v = (x_t @ Wv.T).view(B, 1, G, dh).transpose(1, 2)
    K, V = torch.cat((cache_k, k), dim=2), torch.cat((cache_v, v), dim=2)
    return attend(q, K, V, H, G, causal=False).transpose(1, 2).reshape(B, 1, d) @ Wo.T, K, V


def weights(d, H, G, seed, dtype, device, qk_scale=1.0):
    """Wq (d, d), Wk and Wv (G·dh, d), Wo (d, d), seeded, scaled like d^-1/2."""
    gd = G * (d // H)
    rows, scales = (d, gd, gd, d), (qk_scale, qk_scale, 1.0, 1.0)
    return [randn(r, d, seed=seed + i, dtype=dtype, device=device, scale=s * d ** -0.5)
            for i, (r, s) in enumerate(zip(rows, scales))]


def compare(got, expected, tol):
    got = assert_tuple(got, 3)
    for what, a, e in zip(("y_t", "cache_k", "cache_v"), got, expected):
        assert_tensor(a, e, **tol, what=what)


def step_and_compare(submission, X, W, H, G, tol, theta=10000.0):
    """Decode the last token of X from a cache of the others; compare with full causal attention."""
    y_full, k, v = full_attention(X, *W, H, G, theta)
    got = submission.gqa_decode(X[:, -1:], k[:, :, :-1], v[:, :, :-1], *W, H, G, theta)
    compare(got, (y_full[:, -1:], k, v), tol)


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_step_matches_full_attention(submission, device, dtype):
    # B = 2, T = 7, d_model = 24, H = 6, G = 2: dh = 4, groups of 3; every size different.
    X = randn(2, 7, 24, seed=21, dtype=dtype, device=device)
    step_and_compare(submission, X, weights(24, 6, 2, 22, dtype, device), 6, 2, TOL[dtype])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_first_step_empty_cache(submission, device, dtype):
    # Position 0: RoPE is the identity, the only key is the token's own.
    X = randn(3, 1, 20, seed=11, dtype=dtype, device=device)
    step_and_compare(submission, X, weights(20, 5, 1, 12, dtype, device), 5, 1, TOL[dtype])


@check(points=2)
def test_heads_grouped_consecutively(submission, device):
    # H = 8 query heads on G = 2 and G = 4 key/value heads: head h reads h // (H/G), not h % G.
    # Key/value heads made very different (one scaled up) so that a wrong pairing shows.
    dtype = torch.float64
    X = randn(1, 6, 16, seed=31, dtype=dtype, device=device)
    for G in (2, 4):
        W = weights(16, 8, G, 32 + G, dtype, device)
        W[2] = W[2] * torch.linspace(0.2, 5.0, W[2].shape[0], dtype=dtype, device=device)[:, None]
        step_and_compare(submission, X, W, 8, G, TOL[dtype])


@check(points=1)
def test_multi_query_and_multi_head(submission, device):
    # The two ends: G = 1 (one key/value head for all) and G = H (ordinary multi-head attention).
    dtype = torch.float64
    X = randn(2, 5, 12, seed=41, dtype=dtype, device=device)
    for G in (1, 3):
        step_and_compare(submission, X, weights(12, 3, G, 42 + G, dtype, device), 3, G, TOL[dtype])


@check(points=2)
def test_new_token_rotated_at_cache_length(submission, device):
    # A given cache of 37 positions (not made from X): the new query and key turn by 37·ω, and
    # the cached keys are used as they are.
    dtype, B, H, G, d, T_past = torch.float64, 2, 4, 2, 16, 37
    x_t = randn(B, 1, d, seed=51, dtype=dtype, device=device)
    W = weights(d, H, G, 52, dtype, device)
    cache_k = randn(B, G, T_past, d // H, seed=56, dtype=dtype, device=device)
    cache_v = randn(B, G, T_past, d // H, seed=57, dtype=dtype, device=device)
    compare(submission.gqa_decode(x_t, cache_k, cache_v, *W, H, G), one_step(x_t, cache_k, cache_v, *W, H, G),
            TOL[dtype])


@check(points=1)
def test_large_position_float64(submission, device):
    # 5000 cached positions: angles computed in float32 are off by ~1e-4 rad here.
    dtype, B, H, G, d, T_past = torch.float64, 1, 4, 2, 8, 5000
    x_t = randn(B, 1, d, seed=61, dtype=dtype, device=device)
    W = weights(d, H, G, 62, dtype, device, qk_scale=3.0)
    cache_k = randn(B, G, T_past, d // H, seed=66, dtype=dtype, device=device)
    cache_v = randn(B, G, T_past, d // H, seed=67, dtype=dtype, device=device)
    compare(submission.gqa_decode(x_t, cache_k, cache_v, *W, H, G), one_step(x_t, cache_k, cache_v, *W, H, G),
            TOL[dtype])


@check(points=2)
def test_ten_steps_from_empty(submission, device):
    # A decoding loop: each step's caches are the next step's inputs; every output must equal that
    # position of full causal attention, and the final caches the full rotated keys and values.
    dtype, B, T, H, G, d = torch.float64, 2, 10, 4, 2, 16
    X = randn(B, T, d, seed=71, dtype=dtype, device=device)
    W = weights(d, H, G, 72, dtype, device)
    y_full, k, v = full_attention(X, *W, H, G)
    K = V = torch.zeros(B, G, 0, d // H, dtype=dtype, device=device)
    for t in range(T):
        y, K, V = assert_tuple(submission.gqa_decode(X[:, t:t + 1], K, V, *W, H, G), 3, what=f"result of step {t}")
        assert_tensor(y, y_full[:, t:t + 1], **TOL[dtype], what=f"y_t at step {t}")
    assert_tensor(K, k, **TOL[dtype], what="cache_k after 10 steps")
    assert_tensor(V, v, **TOL[dtype], what="cache_v after 10 steps")


@check(points=1)
def test_long_cache_float32(submission, device):
    # 299 cached positions, batch of one; float32 angles up to 299 rad: 2e-5 absolute.
    X = randn(1, 300, 32, seed=81, dtype=torch.float32, device=device)
    step_and_compare(submission, X, weights(32, 4, 2, 82, torch.float32, device), 4, 2, dict(rtol=1e-4, atol=2e-5))


@check(points=1)
def test_theta_is_used(submission, device):
    dtype = torch.float64
    X = randn(2, 9, 24, seed=91, dtype=dtype, device=device)
    step_and_compare(submission, X, weights(24, 4, 2, 92, dtype, device), 4, 2, TOL[dtype], theta=500000.0)


@check(points=1)
def test_large_scores_are_stable(submission, device):
    # q·k/√dh in the thousands: exp overflows unless the row maximum is subtracted first.
    dtype = torch.float64
    X = randn(2, 6, 16, seed=101, dtype=dtype, device=device, scale=3.0)
    W = weights(16, 4, 2, 102, dtype, device, qk_scale=20.0)
    y_full, _, _ = full_attention(X, *W, 4, 2)
    if not bool(torch.isfinite(y_full).all()):
        raise CheckFailure("the oracle overflowed")  # a guard on the check itself
    step_and_compare(submission, X, W, 4, 2, TOL[dtype])


@check(points=1)
def test_strided_cache(submission, device):
    # A cache stored as (B, T, G, dh) and handed over as a transposed (non-contiguous) view.
    dtype, B, T, H, G, d = torch.float32, 2, 5, 4, 2, 16
    X = randn(B, T, d, seed=111, dtype=dtype, device=device)
    W = weights(d, H, G, 112, dtype, device)
    y_full, k, v = full_attention(X, *W, H, G)
    past = tuple(c[:, :, :-1].transpose(1, 2).contiguous().transpose(1, 2) for c in (k, v))
    assert not past[0].is_contiguous()
    compare(submission.gqa_decode(X[:, -1:], *past, *W, H, G), (y_full[:, -1:], k, v), TOL[dtype])


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument, the caches included, after the call with what was sent.
    X = randn(1, 4, 8, seed=121, device=device)
    W = weights(8, 2, 1, 122, torch.float32, device)
    _, k, v = full_attention(X, *W, 2, 1)
    submission.gqa_decode(X[:, -1:], k[:, :, :-1], v[:, :, :-1], *W, 2, 1)
