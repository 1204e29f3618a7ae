"""Public checks for swiglu: the worked example and a batch of vectors."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn


def oracle(x, W1, W2, W3):
    return (F.silu(x @ W1.T) * (x @ W3.T)) @ W2.T


@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([[2.0]], device=device)
    W1 = torch.tensor([[1.0], [-1.0]], device=device)
    W3 = torch.tensor([[0.5], [3.0]], device=device)
    W2 = torch.tensor([[1.0, 1.0]], device=device)
    # Three float32 products and a sigmoid: a few ulps.
    assert_tensor(submission.swiglu(x, W1, W2, W3), oracle(x, W1, W2, W3), rtol=1e-5, atol=1e-6)


@check(points=1)
def test_batch_float32(submission, device):
    d_model, d_ff, n = 6, 10, 4
    x = randn(n, d_model, seed=1, device=device)
    W1, W3 = (randn(d_ff, d_model, seed=s, device=device, scale=d_model ** -0.5) for s in (2, 3))
    W2 = randn(d_model, d_ff, seed=4, device=device, scale=d_ff ** -0.5)
    # float32 sums of d_ff products of order 1: 1e-5 relative, 1e-6 near zero.
    assert_tensor(submission.swiglu(x, W1, W2, W3), oracle(x, W1, W2, W3), rtol=1e-5, atol=1e-6)
