"""Public checks for lora_linear: the worked example and a batched call."""

import torch

from grader.checks import assert_tensor, check, randn


@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([1.0, 2.0], device=device)
    W = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], device=device)
    A = torch.tensor([[1.0, 1.0]], device=device)
    B = torch.tensor([[1.0], [0.0], [2.0]], device=device)
    # Small integers: exact in float32.
    assert_tensor(submission.lora_linear(x, W, A, B, 2.0), torch.tensor([7.0, 2.0, 15.0], device=device),
                  rtol=0, atol=0)


@check(points=1)
def test_batched_inputs(submission, device):
    x = randn(2, 3, 5, seed=1501, device=device)  # (b, t, in)
    W, A, B = randn(4, 5, seed=1502, device=device), randn(2, 5, seed=1503, device=device), \
        randn(4, 2, seed=1504, device=device)
    expected = x @ W.T + (8.0 / 2) * (x @ A.T) @ B.T
    # Sums of five products of unit normals in float32: within 1e-5.
    assert_tensor(submission.lora_linear(x, W, A, B, 8.0), expected, rtol=1e-5, atol=1e-5)
