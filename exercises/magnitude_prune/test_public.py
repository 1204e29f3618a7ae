"""Public checks for magnitude_prune: the worked example and the tie rule."""

import torch

from grader.checks import assert_tensor, assert_tuple, check


@check(points=1)
def test_worked_example(submission, device):
    w = torch.tensor([[0.5, -0.1, 2.0], [-0.3, 0.1, 1.0]], device=device)
    pruned, mask = assert_tuple(submission.prune(w, 0.5), 2)
    expected_mask = torch.tensor([[True, False, True], [False, False, True]], device=device)
    assert_tensor(mask, expected_mask, rtol=0, atol=0, what="mask")
    assert_tensor(pruned, torch.tensor([[0.5, 0.0, 2.0], [0.0, 0.0, 1.0]], device=device), rtol=0, atol=0,
                  what="pruned")


@check(points=1)
def test_tie_goes_to_the_lower_index(submission, device):
    w = torch.tensor([[0.5, -0.1, 2.0], [-0.3, 0.1, 1.0]], device=device)
    pruned, mask = assert_tuple(submission.prune(w, 1 / 6), 2)  # k = 1: -0.1 (index 1) before 0.1 (index 4)
    expected_mask = torch.tensor([[True, False, True], [True, True, True]], device=device)
    assert_tensor(mask, expected_mask, rtol=0, atol=0, what="mask")
