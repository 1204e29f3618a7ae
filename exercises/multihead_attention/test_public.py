"""Public checks for multihead_attention: shapes and values on a small causal batch."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn


def reference(x, Wq, Wk, Wv, Wo, n_heads, causal=True):
    """Projections and head split with torch ops, attention by scaled_dot_product_attention."""
    B, T, d = x.shape
    q, k, v = ((x @ w.T).view(B, T, n_heads, d // n_heads).transpose(1, 2) for w in (Wq, Wk, Wv))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (B, H, T, dh)
    return out.transpose(1, 2).reshape(B, T, d) @ Wo.T


@check(points=1)
def test_small_causal_batch(submission, device):
    x = randn(2, 3, 4, seed=81, device=device)  # (B=2, T=3, d_model=4)
    Ws = [randn(4, 4, seed=82 + i, device=device, scale=0.5) for i in range(4)]
    # Four small matmuls and a softmax in float32: within 1e-5.
    assert_tensor(submission.multihead_attention(x, *Ws, 2), reference(x, *Ws, 2), rtol=1e-5, atol=1e-5)


@check(points=1)
def test_non_causal(submission, device):
    x = randn(2, 5, 6, seed=87, device=device)  # (B=2, T=5, d_model=6), 3 heads of 2
    Ws = [randn(6, 6, seed=88 + i, device=device, scale=0.5) for i in range(4)]
    expected = reference(x, *Ws, 3, causal=False)
    assert_tensor(submission.multihead_attention(x, *Ws, 3, causal=False), expected, rtol=1e-5, atol=1e-5)
