"""Hidden checks for transformer_block: dtypes, causality, RoPE per head, head counts, eps and theta,
large scores, one token, views, unchanged inputs."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import CheckFailure, assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# float32: a dozen matmuls and two normalisations of order-1 values, summation orders differ from the
# oracle's (SDPA, complex RoPE): 1e-4 relative, 1e-5 near zero. float64: the same at ~1e-15.
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-9, atol=1e-11)}


def oracle(x, w, n_heads, eps=1e-5, theta=10000.0):
    """The block from library pieces: F.rms_norm, complex-number RoPE, causal SDPA, F.silu."""
    B, T, d = x.shape
    dh = d // n_heads

    def rope(z):  # (B, H, T, dh): pairs (2i, 2i+1) as complex numbers, rotated by t·θ^(−2i/dh)
        zc = torch.view_as_complex(z.reshape(B, n_heads, T, dh // 2, 2).contiguous())
        freq = theta ** (-torch.arange(0, dh, 2, dtype=torch.float64) / dh)
        angle = torch.outer(torch.arange(T, dtype=torch.float64), freq)
        return torch.view_as_real(zc * torch.polar(torch.ones_like(angle), angle).to(zc)).flatten(-2)

    xn = F.rms_norm(x, (d,), w["ln1"], eps)
    q, k, v = ((xn @ w[n].T).view(B, T, n_heads, dh).transpose(1, 2) for n in ("wq", "wk", "wv"))
    att = F.scaled_dot_product_attention(rope(q), rope(k), v, is_causal=True)
    h = x + att.transpose(1, 2).reshape(B, T, d) @ w["wo"].T
    hn = F.rms_norm(h, (d,), w["ln2"], eps)
    return h + (F.silu(hn @ w["w1"].T) * (hn @ w["w3"].T)) @ w["w2"].T


def make_weights(d, f, seed, dtype, device, qk_scale=1.0):
    """Initialised-model scales (≈ 1/√fan_in); distinct, non-unit RMSNorm gains."""
    w = {}
    for i, n in enumerate(("wq", "wk", "wv", "wo")):
        scale = d ** -0.5 * (qk_scale if n in ("wq", "wk") else 1.0)
        w[n] = randn(d, d, seed=seed + i, dtype=dtype, device=device, scale=scale)
    w["w1"], w["w3"] = (randn(f, d, seed=seed + s, dtype=dtype, device=device, scale=d ** -0.5) for s in (4, 5))
    w["w2"] = randn(d, f, seed=seed + 6, dtype=dtype, device=device, scale=f ** -0.5)
    w["ln1"], w["ln2"] = (1 + randn(d, seed=seed + s, dtype=dtype, device=device, scale=0.2) for s in (7, 8))
    return w


@check(points=3)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_matches_reference(submission, device, dtype):
    x = randn(2, 7, 12, seed=11, dtype=dtype, device=device)
    w = make_weights(12, 20, 20, dtype, device)
    assert_tensor(submission.transformer_block(x, w, 3), oracle(x, w, 3), **TOL[dtype])


@check(points=2)
def test_causal(submission, device):
    # Changing the last tokens must leave every earlier position's output unchanged.
    dtype = torch.float64
    x = randn(1, 9, 8, seed=31, dtype=dtype, device=device)
    w = make_weights(8, 14, 40, dtype, device)
    y = submission.transformer_block(x, w, 2)
    assert_tensor(y, oracle(x, w, 2), **TOL[dtype])
    x2 = x.clone()
    x2[:, 6:] = randn(1, 3, 8, seed=32, dtype=dtype, device=device)
    y2 = submission.transformer_block(x2, w, 2)
    assert_tensor(y2[:, :6], y[:, :6], rtol=0, atol=1e-12, what="outputs before the changed tokens")


@check(points=2)
def test_rope_per_head_with_theta(submission, device):
    # Four heads of dh = 8 and a small θ: RoPE's frequencies depend on dh, not d_model, and on θ.
    dtype = torch.float64
    x = randn(2, 11, 32, seed=51, dtype=dtype, device=device)
    w = make_weights(32, 24, 60, dtype, device)
    assert_tensor(submission.transformer_block(x, w, 4, 1e-5, 500.0), oracle(x, w, 4, 1e-5, 500.0), **TOL[dtype])


@check(points=1)
def test_one_head_and_two_dim_heads(submission, device):
    dtype = torch.float64
    x = randn(3, 6, 10, seed=71, dtype=dtype, device=device)
    w = make_weights(10, 16, 80, dtype, device)
    for n_heads in (1, 5):  # dh = 10 and dh = 2
        assert_tensor(submission.transformer_block(x, w, n_heads), oracle(x, w, n_heads), **TOL[dtype],
                      what=f"result with {n_heads} heads")


@check(points=1)
def test_eps_is_used(submission, device):
    # Small activations and a large eps: eps inside the square root matters here.
    dtype = torch.float64
    x = randn(2, 4, 6, seed=91, dtype=dtype, device=device, scale=0.3)
    w = make_weights(6, 10, 100, dtype, device)
    assert_tensor(submission.transformer_block(x, w, 3, 0.5), oracle(x, w, 3, 0.5), **TOL[dtype])


@check(points=1)
def test_single_token(submission, device):
    # B = T = 1: position 0 is not rotated and attends only to itself.
    dtype = torch.float32
    x = randn(1, 1, 8, seed=111, dtype=dtype, device=device)
    w = make_weights(8, 12, 120, dtype, device)
    assert_tensor(submission.transformer_block(x, w, 4), oracle(x, w, 4), **TOL[dtype])


@check(points=2)
def test_large_scores_are_stable(submission, device):
    # q·k/√dh in the thousands: exp overflows unless the row maximum is subtracted first.
    dtype = torch.float64
    x = randn(2, 8, 12, seed=131, dtype=dtype, device=device)
    w = make_weights(12, 16, 140, dtype, device, qk_scale=25.0)
    expected = oracle(x, w, 2)
    assert bool(expected.isfinite().all())
    assert_tensor(submission.transformer_block(x, w, 2), expected, **TOL[dtype])


@check(points=1)
def test_non_contiguous_input(submission, device):
    dtype = torch.float32
    x = randn(6, 2, 8, seed=151, dtype=dtype, device=device).transpose(0, 1)  # (2, 6, 8), strided
    assert not x.is_contiguous()
    w = make_weights(8, 12, 160, dtype, device)
    assert_tensor(submission.transformer_block(x, w, 2), oracle(x, w, 2), **TOL[dtype])


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares x and every tensor of the weights dict after the call with what was sent.
    x = randn(1, 3, 8, seed=171, device=device)
    result = submission.transformer_block(x, make_weights(8, 12, 180, torch.float32, device), 2)
    if type(result) is not torch.Tensor:
        raise CheckFailure("result is not a tensor", f"got {type(result).__qualname__}")
