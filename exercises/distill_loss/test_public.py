"""Public checks for distill_loss: the worked example and zero loss for a perfect student."""

import math

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn


@check(points=1)
def test_worked_example(submission, device):
    teacher = torch.tensor([[2 * math.log(3), 0.0, 0.0], [1.0, 2.0, 3.0]], dtype=torch.float64, device=device)
    student = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], dtype=torch.float64, device=device)
    expected = F.kl_div(F.log_softmax(student / 2, -1), F.log_softmax(teacher / 2, -1), reduction="batchmean",
                        log_target=True) * 4
    # A handful of float64 logs and exps: 1e-12 relative.
    assert_tensor(submission.distill_loss(student, teacher, 2.0), expected, rtol=1e-12, atol=1e-14)


@check(points=1)
def test_zero_when_student_matches(submission, device):
    logits = randn(4, 7, seed=1401, device=device, scale=3.0)
    # KL(p ‖ p) = 0: float32 log-softmax differences cancel to within a few ulps of the terms.
    assert_tensor(submission.distill_loss(logits, logits.clone(), 3.0), torch.zeros((), device=device),
                  rtol=0, atol=1e-6)
