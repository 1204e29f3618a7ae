"""Public checks for bce_loss: the worked example and one random batch."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, rand


@check(points=1)
def test_worked_example(submission, device):
    p = torch.tensor([0.9, 0.2, 0.6, 0.0], dtype=torch.float64, device=device)
    y = torch.tensor([1.0, 0.0, 1.0, 0.25], dtype=torch.float64, device=device)
    # float64, four terms: any log-based formula agrees to ~1e-15.
    assert_tensor(submission.bce_loss(p, y), F.binary_cross_entropy(p, y), rtol=1e-10, atol=1e-12)


@check(points=1)
def test_random_batch_float32(submission, device):
    p = rand(5, 3, seed=1, device=device, low=0.02, high=0.98)
    y = (rand(5, 3, seed=2, device=device) > 0.5).float()
    # float32 logs and a 15-term mean: a few ulps of a value near 1.
    assert_tensor(submission.bce_loss(p, y), F.binary_cross_entropy(p, y), rtol=1e-5, atol=1e-6)
