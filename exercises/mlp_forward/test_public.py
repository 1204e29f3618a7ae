"""Public checks for mlp_forward: the worked example and one random batch."""

import torch

from grader.checks import assert_tensor, check, randn


def _oracle(x, W1, b1, W2, b2):
    return torch.sigmoid(torch.sigmoid(x @ W1 + b1) @ W2 + b2)


@check(points=1)
def test_worked_example(submission, device):
    f64 = dict(dtype=torch.float64, device=device)
    x = torch.tensor([[1.0, 2.0], [0.0, -1.0]], **f64)
    W1 = torch.tensor([[1.0, -1.0, 0.0], [0.0, 1.0, 2.0]], **f64)
    b1 = torch.tensor([0.0, 0.5, -1.0], **f64)
    W2 = torch.tensor([[1.0], [-2.0], [1.0]], **f64)
    b2 = torch.tensor([0.5], **f64)
    # float64, two tiny layers: any exp-based sigmoid agrees to ~1e-15.
    assert_tensor(submission.mlp_forward(x, W1, b1, W2, b2), _oracle(x, W1, b1, W2, b2), rtol=1e-10, atol=1e-12)


@check(points=1)
def test_random_batch_float32(submission, device):
    # batch 6, d_in 5, d_hidden 7, d_out 3: a transposed weight cannot even be multiplied.
    args = (randn(6, 5, seed=1, device=device), randn(5, 7, seed=2, device=device), randn(7, seed=3, device=device),
            randn(7, 3, seed=4, device=device), randn(3, seed=5, device=device))
    # float32 matmul summation order differs between answers: ~1e-6 on the activations.
    assert_tensor(submission.mlp_forward(*args), _oracle(*args), rtol=1e-5, atol=1e-6)
