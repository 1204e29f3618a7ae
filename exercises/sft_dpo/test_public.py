"""Public checks for sft_dpo: the worked examples and a small batch."""

import math

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, assert_tuple, check, randn


def nll_oracle(logits, tokens, mask, reduction):
    # The library's cross-entropy on the shifted targets, prompt and padding set to ignore_index.
    targets = tokens[:, 1:].masked_fill(~mask[:, 1:], -100)
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), targets, ignore_index=-100, reduction=reduction)


def worked_batch(device):
    row = [[0.0, 0.0], [math.log(3.0), 0.0], [5.0, -5.0]]
    logits = torch.tensor([row, row], dtype=torch.float64, device=device)  # (B=2, T=3, V=2)
    tokens = torch.tensor([[1, 0, 1], [0, 1, 1]], device=device)
    mask = torch.tensor([[False, True, True], [False, False, True]], device=device)
    return logits, tokens, mask


@check(points=1)
def test_worked_example_sequence_logprobs(submission, device):
    logits, tokens, mask = worked_batch(device)
    # [log ½ + log ¼, log ¼] = [-2.07944, -1.38629]; a few float64 roundings: 1e-12.
    expected = -nll_oracle(logits, tokens, mask, "none").sum(dim=-1)
    assert_tensor(submission.sequence_logprobs(logits, tokens, mask), expected, rtol=1e-12, atol=1e-12)


@check(points=1)
def test_worked_example_sft_loss(submission, device):
    logits, tokens, mask = worked_batch(device)
    # (2.07944 + 1.38629) / 3 = 1.15524: one mean over the three response tokens.
    assert_tensor(submission.sft_loss(logits, tokens, mask), nll_oracle(logits, tokens, mask, "mean"),
                  rtol=1e-12, atol=1e-12)


@check(points=1)
def test_worked_example_dpo(submission, device):
    f64 = dict(dtype=torch.float64, device=device)
    pc, pr = torch.tensor([-2.0, -1.0], **f64), torch.tensor([-5.0, -1.0], **f64)
    rc, rr = torch.tensor([-3.0, -1.0], **f64), torch.tensor([-4.0, -1.0], **f64)
    loss, chosen, rejected = assert_tuple(submission.dpo_loss(pc, pr, rc, rr, 0.5), 3)
    # Rewards [0.5, 0] and [-0.5, 0]; loss (log(1 + e⁻¹) + log 2) / 2 = 0.50320. float64: 1e-12.
    assert_tensor(chosen, 0.5 * (pc - rc), rtol=1e-12, atol=1e-12, what="chosen_rewards")
    assert_tensor(rejected, 0.5 * (pr - rr), rtol=1e-12, atol=1e-12, what="rejected_rewards")
    assert_tensor(loss, -F.logsigmoid(0.5 * ((pc - rc) - (pr - rr))).mean(), rtol=1e-12, atol=1e-12, what="loss")


@check(points=1)
def test_small_batch(submission, device):
    logits = randn(2, 6, 5, seed=5101, device=device, scale=2.0)  # (B=2, T=6, V=5)
    tokens = torch.tensor([[3, 1, 4, 1, 0, 2], [2, 0, 0, 4, 3, 3]], device=device)
    mask = torch.tensor([[False, False, True, True, True, False], [False, True, True, True, True, True]],
                        device=device)  # prompts of 2 and 1 tokens, the first sequence padded
    # Sums of at most five float32 log-probs of O(1): 1e-5.
    assert_tensor(submission.sequence_logprobs(logits, tokens, mask), -nll_oracle(logits, tokens, mask, "none").sum(-1),
                  rtol=1e-5, atol=1e-5)
