"""Public checks for attention: the worked example and a causal mask."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn


@check(points=1)
def test_worked_example(submission, device):
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]], device=device)  # (Tq=2, d=2)
    k = torch.tensor([[1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]], device=device)  # (Tk=3, d=2)
    v = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], device=device)  # (Tk=3, dv=3)
    # Two small matmuls and a softmax in float32: a few ulps.
    assert_tensor(submission.attention(q, k, v), F.scaled_dot_product_attention(q, k, v), rtol=1e-5, atol=1e-6)


@check(points=1)
def test_causal_mask(submission, device):
    q, k, v = (randn(2, 4, 6, seed=s, device=device) for s in (71, 72, 73))  # (B=2, T=4, d=6)
    mask = torch.ones(4, 4, dtype=torch.bool, device=device).tril()  # True = may attend
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_tensor(submission.attention(q, k, v, mask), expected, rtol=1e-5, atol=1e-6)
