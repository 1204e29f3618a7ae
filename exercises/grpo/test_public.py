"""Public checks for grpo: the worked examples and a small batch."""

import math

import torch

from grader.checks import assert_tensor, assert_tuple, check, rand, randn


def advantages_oracle(rewards, group_size, eps=1e-4):
    std, mean = torch.std_mean(rewards.view(-1, group_size), dim=1, keepdim=True)  # consecutive groups
    return ((rewards.view(-1, group_size) - mean) / (std + eps)).flatten()


def loss_oracle(logps, old, ref, adv, mask, clip_eps=0.2, beta=0.04):
    ratio = torch.exp(logps - old)
    pg = -torch.min(ratio * adv[:, None], torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv[:, None])
    kl = torch.exp(ref - logps) - (ref - logps) - 1
    per_seq = lambda x: torch.where(mask, x, 0.0).sum(1) / mask.sum(1)  # noqa: E731
    return per_seq(pg + beta * kl).mean(), per_seq(kl).mean()


@check(points=1)
def test_worked_example_advantages(submission, device):
    rewards = torch.tensor([1.0, 0.0, 0.0, 2.0, 4.0, 0.0], dtype=torch.float64, device=device)
    # [1.15450, -0.57725, -0.57725, 0, 0.99995, -0.99995]; a few float64 roundings: 1e-12.
    assert_tensor(submission.group_advantages(rewards, 3), advantages_oracle(rewards, 3), rtol=1e-12, atol=1e-12)


@check(points=1)
def test_worked_example_loss(submission, device):
    f64 = dict(dtype=torch.float64, device=device)
    logps = torch.tensor([[-1.0, -2.0], [-1.5, -3.0]], **f64)
    old = logps - torch.tensor([[0.0, math.log(1.5)], [math.log(0.5), 0.0]], **f64)
    ref = logps + torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]], **f64)
    adv = torch.tensor([1.0, -1.0], **f64)
    mask = torch.tensor([[True, True], [True, False]], device=device)
    loss, kl = assert_tuple(submission.grpo_loss(logps, old, ref, adv, mask, 0.2, 0.1), 2)
    want_loss, want_kl = loss_oracle(logps, old, ref, adv, mask, 0.2, 0.1)  # -0.1423288 and 0.0767132
    assert_tensor(loss, want_loss, rtol=1e-12, atol=1e-12, what="loss")
    assert_tensor(kl, want_kl, rtol=1e-12, atol=1e-12, what="mean_kl")


@check(points=1)
def test_small_batch(submission, device):
    logps = -rand(3, 5, seed=6101, device=device, high=3.0)  # (B=3, T=5)
    old = logps + 0.3 * randn(3, 5, seed=6102, device=device)
    ref = logps + 0.3 * randn(3, 5, seed=6103, device=device)
    adv = randn(3, seed=6104, device=device)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False], [True] * 4 + [False]], device=device)
    loss, kl = assert_tuple(submission.grpo_loss(logps, old, ref, adv, mask), 2)
    want_loss, want_kl = loss_oracle(logps, old, ref, adv, mask)
    # A few float32 exps and means of O(1) terms: 1e-5.
    assert_tensor(loss, want_loss, rtol=1e-5, atol=1e-6, what="loss")
    assert_tensor(kl, want_kl, rtol=1e-5, atol=1e-6, what="mean_kl")
