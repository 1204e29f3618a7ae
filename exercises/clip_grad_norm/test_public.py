"""Public checks for clip_grad_norm: the worked example and one clipped set of gradients."""

import torch

from grader.checks import assert_tensor, assert_tuple, check, randn

# float32: a sum of squares, a square root and one product per entry; a few ulps.
TOL = dict(rtol=1e-5, atol=1e-7)


def torch_clip(grads, max_norm):
    """The oracle: torch.nn.utils.clip_grad_norm_ on copies held by stand-in parameters."""
    params = [torch.zeros_like(g) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params], total


def compare(got, grads, max_norm):
    clipped, total = assert_tuple(got, 2)
    clipped = assert_tuple(clipped, len(grads), what="clipped")
    expected, expected_total = torch_clip(grads, max_norm)
    assert_tensor(total, expected_total, **TOL, what="total norm")
    for i, (a, e) in enumerate(zip(clipped, expected)):
        assert_tensor(a, e, **TOL, what=f"clipped[{i}]")


@check(points=1)
def test_worked_example(submission, device):
    grads = [torch.tensor([3.0, 0.0], device=device), torch.tensor([[4.0]], device=device)]
    compare(submission.clip_grad_norm(grads, 1.0), grads, 1.0)


@check(points=1)
def test_clips_two_tensors(submission, device):
    grads = [randn(4, 3, seed=1, device=device), randn(5, seed=2, device=device)]
    compare(submission.clip_grad_norm(grads, 0.5), grads, 0.5)
