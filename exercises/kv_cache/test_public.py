"""Public checks for kv_cache: a first step and a step with a cache, against full causal attention."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, assert_tuple, check, randn

# float32: three small matmuls and a softmax over a handful of positions; a few ulps apart.
TOL = dict(rtol=1e-4, atol=1e-5)


def full_attention(X, Wq, Wk, Wv, Wo, n_heads):
    """Causal multi-head attention over the whole sequence X (B, T, d): outputs, keys and values."""
    B, T, d = X.shape
    q, k, v = ((X @ W.T).view(B, T, n_heads, d // n_heads).transpose(1, 2) for W in (Wq, Wk, Wv))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return out.transpose(1, 2).reshape(B, T, d) @ Wo.T, k, v


def weights(d, seed, device):
    return [randn(d, d, seed=seed + i, device=device, scale=d ** -0.5) for i in range(4)]


@check(points=1)
def test_first_step(submission, device):
    B, H, d = 2, 2, 6
    X = randn(B, 1, d, seed=1, device=device)
    W = weights(d, 2, device)
    empty = torch.zeros(B, H, 0, d // H, device=device)
    y, K, V = assert_tuple(submission.decode_step(X, empty, empty, *W, H), 3)
    y_full, k, v = full_attention(X, *W, H)
    assert_tensor(y, y_full, **TOL, what="y_t")
    assert_tensor(K, k, **TOL, what="cache_k")
    assert_tensor(V, v, **TOL, what="cache_v")


@check(points=1)
def test_step_with_cache(submission, device):
    B, T, H, d = 1, 4, 2, 8
    X = randn(B, T, d, seed=3, device=device)
    W = weights(d, 4, device)
    y_full, k, v = full_attention(X, *W, H)
    y, K, V = assert_tuple(submission.decode_step(X[:, -1:], k[:, :, :-1], v[:, :, :-1], *W, H), 3)
    assert_tensor(y, y_full[:, -1:], **TOL, what="y_t")
    assert_tensor(K, k, **TOL, what="cache_k")
    assert_tensor(V, v, **TOL, what="cache_v")
