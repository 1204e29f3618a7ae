"""Public checks for flash_attention: the worked example and a small tiled case."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn


@check(points=1)
def test_worked_example(submission, device):
    q = torch.tensor([[2.0]], dtype=torch.float64, device=device)
    k = torch.tensor([[0.0], [1.0], [2.0], [3.0]], dtype=torch.float64, device=device)
    v = torch.tensor([[1.0], [2.0], [3.0], [4.0]], dtype=torch.float64, device=device)
    # Four exps and a division in float64: 1e-12.
    assert_tensor(submission.flash_attention(q, k, v, block_size=2), F.scaled_dot_product_attention(q, k, v),
                  rtol=1e-12, atol=1e-12)


@check(points=1)
def test_small_tiled_batch(submission, device):
    q, k, v = (randn(2, 7, 4, seed=s, device=device) for s in (1601, 1602, 1603))  # (B=2, T=7, d=4)
    # Convex combinations of O(1) values, summed in another order: 1e-5 in float32.
    assert_tensor(submission.flash_attention(q, k, v, block_size=3), F.scaled_dot_product_attention(q, k, v),
                  rtol=1e-5, atol=1e-5)
