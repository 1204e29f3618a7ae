"""Public checks for cross_entropy: the worked example and the basic contract."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn


@check(points=1)
def test_worked_example(submission, device):
    logits = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]], device=device)
    targets = torch.tensor([0, 2], device=device)
    # A log, an exp and a mean over two rows in float32: a few ulps.
    assert_tensor(submission.cross_entropy(logits, targets), F.cross_entropy(logits, targets), rtol=1e-6, atol=1e-7)


@check(points=1)
def test_random_batch(submission, device):
    logits = randn(6, 5, seed=31, device=device, scale=2.0)
    targets = torch.tensor([4, 0, 1, 3, 3, 2], device=device)
    assert_tensor(submission.cross_entropy(logits, targets), F.cross_entropy(logits, targets), rtol=1e-5, atol=1e-6)
