"""Public checks for gqa_decode: the worked example and a step with a cache, against SDPA."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, assert_tuple, check, randn

# float32: a few small matmuls, a rotation and a softmax over a handful of positions: a few ulps.
TOL = dict(rtol=1e-4, atol=1e-5)


def rope(x, positions, theta=10000.0):
    """Adjacent pairs (2i, 2i+1) of x (..., T, dh) as complex numbers times e^{i·p·ω}, in float64."""
    dh = x.shape[-1]
    freq = theta ** (-torch.arange(dh // 2, dtype=torch.float64, device=x.device) * 2 / dh)
    angle = positions.to(torch.float64)[:, None] * freq  # (T, dh/2)
    pairs = torch.view_as_complex(x.to(torch.float64).reshape(*x.shape[:-1], dh // 2, 2).contiguous())
    return torch.view_as_real(pairs * torch.polar(torch.ones_like(angle), angle)).flatten(-2).to(x.dtype)


def full_attention(X, Wq, Wk, Wv, Wo, H, G, theta=10000.0):
    """Causal GQA over the whole sequence X (B, T, d) with SDPA and repeat_interleave'd heads.

    Returns the outputs (B, T, d), the rotated keys and the values (B, G, T, dh).
    """
    B, T, d = X.shape
    dh, pos = d // H, torch.arange(T, device=X.device)
    q = rope((X @ Wq.T).view(B, T, H, dh).transpose(1, 2), pos, theta)
    k = rope((X @ Wk.T).view(B, T, G, dh).transpose(1, 2), pos, theta)
    v = (X @ Wv.T).view(B, T, G, dh).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k.repeat_interleave(H // G, dim=1), v.repeat_interleave(H // G, dim=1),
                                         is_causal=True)
    return out.transpose(1, 2).reshape(B, T, d) @ Wo.T, k, v


@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([[[1.0, 0.0, 0.0, 2.0]]], device=device)
    eye = torch.eye(4, device=device)
    W = (eye, eye[:2], eye[2:], eye)  # Wq, Wk (k = x[:2]), Wv (v = x[2:]), Wo
    cache_k = torch.tensor([[[[1.0, 0.0]]]], device=device)  # (B=1, G=1, T_past=1, dh=2)
    cache_v = torch.tensor([[[[4.0, 0.0]]]], device=device)
    y, K, V = assert_tuple(submission.gqa_decode(x, cache_k, cache_v, *W, 2, 1), 3)
    # The statement's numbers, worked by hand (y_t) and rotated by 1 rad (the new key).
    s1, c1 = torch.sin(torch.tensor(1.0)).item(), torch.cos(torch.tensor(1.0)).item()
    assert_tensor(y, torch.tensor([[[1.677777, 1.161111, 0.933022, 1.533489]]], device=device), rtol=0, atol=1e-5,
                  what="y_t")
    assert_tensor(K, torch.tensor([[[[1.0, 0.0], [c1, s1]]]], device=device), **TOL, what="cache_k")
    assert_tensor(V, torch.tensor([[[[4.0, 0.0], [0.0, 2.0]]]], device=device), **TOL, what="cache_v")


@check(points=1)
def test_step_with_cache(submission, device):
    # B = 2, T = 5 (4 cached + the new one), d_model = 8, H = 4, G = 2: dh = 2, groups of 2.
    B, T, H, G, d = 2, 5, 4, 2, 8
    X = randn(B, T, d, seed=3, device=device)
    W = [randn(o, d, seed=4 + i, device=device, scale=d ** -0.5) for i, o in enumerate((d, G * 2, G * 2, d))]
    y_full, k, v = full_attention(X, *W, H, G)
    y, K, V = assert_tuple(submission.gqa_decode(X[:, -1:], k[:, :, :-1], v[:, :, :-1], *W, H, G), 3)
    assert_tensor(y, y_full[:, -1:], **TOL, what="y_t")
    assert_tensor(K, k, **TOL, what="cache_k")
    assert_tensor(V, v, **TOL, what="cache_v")
