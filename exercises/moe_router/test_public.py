"""Public checks for moe_router: the worked example and a small batch against a torch reimplementation."""

import math

import torch

from grader.checks import assert_tensor, assert_tuple, check, randn

NAMES = ("expert", "slot", "combine", "dropped", "aux")


def reference(logits, k, capacity_factor):
    """The statement's rules, written out: sort for the top k, compare every pair of assignments for the slots."""
    N, E = logits.shape
    C = math.ceil(capacity_factor * N * k / E)
    p = torch.softmax(logits, dim=-1)
    expert = torch.argsort(p, dim=-1, descending=True, stable=True)[:, :k]  # (N, k), best first
    top = p.gather(1, expert)
    flat = expert.T.reshape(-1)  # priority order: rank j, then token n
    earlier = torch.ones(k * N, k * N, dtype=torch.bool, device=logits.device).tril(-1)
    slot = ((flat[:, None] == flat[None, :]) & earlier).sum(dim=1).view(k, N).T
    dropped = slot >= C
    combine = torch.where(dropped, torch.zeros_like(top), top / top.sum(dim=1, keepdim=True))
    f = torch.bincount(flat, minlength=E).to(logits.dtype) / N
    aux = E * (f * p.mean(dim=0)).sum()
    return expert, torch.where(dropped, torch.full_like(slot, -1), slot), combine, dropped, aux


def compare(got, expected, rtol, atol):
    got = assert_tuple(got, 5)
    for name, a, e in zip(NAMES, got, expected):
        assert_tensor(a, e, rtol=rtol, atol=atol, what=name)  # integers and bools exactly


@check(points=1)
def test_worked_example(submission, device):
    logits = torch.tensor([[2.0, 1.0, 0.0, 0.0], [2.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 1.0], [2.0, 0.0, 0.0, 1.0]],
                          device=device)
    got = assert_tuple(submission.moe_route(logits, 2, 1.0), 5)
    s = 1 / (1 + math.exp(-1.0))  # σ(1): the weight of a choice one logit above the other
    expected = (torch.tensor([[0, 1], [0, 2], [1, 3], [0, 3]], device=device),
                torch.tensor([[0, 1], [1, 0], [0, 0], [-1, 1]], device=device),
                torch.tensor([[s, 1 - s], [s, 1 - s], [s, 1 - s], [0.0, 1 - s]], device=device),
                torch.tensor([[False, False], [False, False], [False, False], [True, False]], device=device),
                torch.tensor(2.360296, device=device))
    # float32: a softmax and one division, a few ulps; the loss is written to 7 digits.
    for name, a, e in zip(NAMES, got, expected):
        assert_tensor(a, e, rtol=1e-5, atol=1e-6, what=name)


@check(points=1)
def test_small_batch(submission, device):
    logits = randn(12, 5, seed=7, device=device, scale=2.0)
    # float32: a softmax, one division and a sum of E products: a few ulps.
    compare(submission.moe_route(logits, 2, 1.0), reference(logits, 2, 1.0), rtol=1e-5, atol=1e-7)
