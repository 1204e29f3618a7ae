"""Public checks for transformer_block: one small block against a torch reference."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn


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


def make_weights(d, f, seed, device):
    w = {n: randn(d, d, seed=seed + i, device=device, scale=d ** -0.5) for i, n in enumerate(("wq", "wk", "wv", "wo"))}
    w["w1"], w["w3"] = (randn(f, d, seed=seed + s, device=device, scale=d ** -0.5) for s in (4, 5))
    w["w2"] = randn(d, f, seed=seed + 6, device=device, scale=f ** -0.5)
    w["ln1"], w["ln2"] = (1 + randn(d, seed=seed + s, device=device, scale=0.1) for s in (7, 8))
    return w


@check(points=2)
def test_small_block(submission, device):
    x = randn(2, 5, 8, seed=1, device=device)
    w = make_weights(8, 12, 10, device)
    # float32, a dozen matmuls of order-1 values: 1e-4 relative, 1e-5 near zero.
    assert_tensor(submission.transformer_block(x, w, 2), oracle(x, w, 2), rtol=1e-4, atol=1e-5)
