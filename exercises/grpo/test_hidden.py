"""Hidden checks for grpo: grouping, the unbiased std and eps, clipping, the KL term and the aggregation."""

import pytest
import torch

from grader.checks import assert_tensor, assert_tuple, check, generator, rand, randn

DTYPES = [torch.float32, torch.float64]
# Means, standard deviations and exps of O(1) values over a few dozen terms, summed in another
# order than the oracle: float32 within 1e-5 relative (1e-6 absolute near 0), float64 1e-10.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def advantages_oracle(rewards, group_size, eps=1e-4):
    grouped = rewards.reshape(-1, group_size)  # consecutive groups
    mean = grouped.mean(dim=1, keepdim=True)
    std = torch.std(grouped, dim=1, keepdim=True, correction=1)
    return ((grouped - mean) / (std + eps)).reshape(-1)


def loss_oracle(logps, old, ref, adv, mask, clip_eps=0.2, beta=0.04):
    ratio = torch.exp(logps - old)
    a = adv[:, None]
    pg = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * a)
    kl = torch.exp(ref - logps) - (ref - logps) - 1

    def per_sequence_then_batch(x):
        return torch.where(mask, x, torch.zeros_like(x)).sum(dim=1).div(mask.sum(dim=1)).mean()

    return per_sequence_then_batch(pg + beta * kl), per_sequence_then_batch(kl)


def rollout(B: int, T: int, seed: int, dtype=torch.float32, device="cpu", spread=0.4, lengths=None):
    """Seeded log-probs of B completions of up to T tokens: old and ref near the current ones."""
    logps = -rand(B, T, seed=seed, dtype=dtype, device=device, low=0.05, high=4.0)
    old = logps + randn(B, T, seed=seed + 1, dtype=dtype, device=device, scale=spread)
    ref = logps + randn(B, T, seed=seed + 2, dtype=dtype, device=device, scale=spread)
    adv = randn(B, seed=seed + 3, dtype=dtype, device=device)
    if lengths is None:
        lengths = torch.randint(1, T + 1, (B,), generator=generator(seed + 4)).tolist()
    mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]  # padding after each completion
    return logps, old, ref, adv, mask.to(device)


def assert_loss(result, expected, tol, what=""):
    loss, kl = assert_tuple(result, 2, what=f"result{what}")
    assert_tensor(loss, expected[0], **tol, what=f"loss{what}")
    assert_tensor(kl, expected[1], **tol, what=f"mean_kl{what}")


# group_advantages ----------------------------------------------------------------------------------

@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_advantages_values(submission, device, dtype):
    rewards = randn(5 * 7, seed=6201, dtype=dtype, device=device, scale=2.0)  # N = 5 groups of G = 7
    assert_tensor(submission.group_advantages(rewards, 7), advantages_oracle(rewards, 7), **TOL[dtype])


@check(points=1)
def test_advantages_groups_are_consecutive(submission, device):
    # Three prompts of four completions with very different reward levels: grouping by columns, or
    # normalising over the whole batch, mixes them.
    level = torch.tensor([0.0, 10.0, -5.0], dtype=torch.float64, device=device).repeat_interleave(4)
    rewards = level + randn(12, seed=6210, dtype=torch.float64, device=device)
    assert_tensor(submission.group_advantages(rewards, 4), advantages_oracle(rewards, 4), **TOL[torch.float64])


@check(points=1)
def test_advantages_unbiased_std_binary_rewards(submission, device):
    # Pass/fail rewards, as a verifier gives them: the G - 1 of the unbiased std shows at G = 4.
    rewards = torch.tensor([1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0], dtype=torch.float64, device=device)
    assert_tensor(submission.group_advantages(rewards, 4), advantages_oracle(rewards, 4), **TOL[torch.float64])


@check(points=1)
def test_advantages_eps_on_the_std(submission, device):
    # Rewards a few 1e-4 apart: eps is of the std's size, and on the variance it would be another number.
    rewards = 0.5 + 3e-4 * randn(4 * 5, seed=6220, dtype=torch.float64, device=device)
    for eps in (1e-4, 0.0, 0.01):
        assert_tensor(submission.group_advantages(rewards, 5, eps), advantages_oracle(rewards, 5, eps),
                      **TOL[torch.float64], what=f"result with eps={eps}")


@check(points=1)
def test_advantages_default_eps(submission, device):
    rewards = 0.5 + 3e-4 * randn(3 * 6, seed=6225, dtype=torch.float64, device=device)
    assert_tensor(submission.group_advantages(rewards, 6), advantages_oracle(rewards, 6), **TOL[torch.float64])


@check(points=1)
def test_advantages_equal_rewards_give_zero(submission, device):
    # Groups that all passed or all failed carry no signal: 0, not NaN.
    rewards = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.5], device=device)
    assert_tensor(submission.group_advantages(rewards, 3), advantages_oracle(rewards, 3), **TOL[torch.float32])


@check(points=1)
def test_advantages_small_groups_and_one_prompt(submission, device):
    for n, g, seed in ((6, 2, 6230), (1, 9, 6231), (1, 2, 6232)):
        rewards = randn(n * g, seed=seed, device=device)
        assert_tensor(submission.group_advantages(rewards, g), advantages_oracle(rewards, g), **TOL[torch.float32],
                      what=f"result for N={n}, G={g}")


@check(points=1)
def test_advantages_strided_rewards(submission, device):
    rewards = randn(15, 3, seed=6240, device=device, scale=3.0)[:, 1]  # (15,), stride 3: N = 3, G = 5
    assert_tensor(submission.group_advantages(rewards, 5), advantages_oracle(rewards, 5), **TOL[torch.float32])


# grpo_loss -----------------------------------------------------------------------------------------

@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_loss_values(submission, device, dtype):
    logps, old, ref, adv, mask = rollout(6, 9, seed=6301, dtype=dtype, device=device)
    loss = assert_tuple(submission.grpo_loss(logps, old, ref, adv, mask), 2)[0]
    assert_tensor(loss, loss_oracle(logps, old, ref, adv, mask)[0], **TOL[dtype], what="loss")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_mean_kl_values(submission, device, dtype):
    logps, old, ref, adv, mask = rollout(5, 8, seed=6310, dtype=dtype, device=device, spread=0.8)
    kl = assert_tuple(submission.grpo_loss(logps, old, ref, adv, mask, 0.2, 0.1), 2)[1]
    assert_tensor(kl, loss_oracle(logps, old, ref, adv, mask, 0.2, 0.1)[1], **TOL[dtype], what="mean_kl")


@check(points=1)
def test_loss_clipping_both_sides(submission, device):
    # Ratios far outside [1 - eps, 1 + eps] with advantages of both signs, no KL: the min of the two
    # surrogates caps the gain from positive advantages at 1 + eps and from negative ones at 1 - eps.
    f64 = dict(dtype=torch.float64, device=device)
    logps = -rand(4, 6, seed=6320, low=0.1, high=2.0, **f64)
    old = logps - torch.linspace(-1.0, 1.0, 6, **f64)  # ratios e^-1 .. e^1 along each row
    adv = torch.tensor([1.5, -0.7, 0.3, -2.0], **f64)
    mask = torch.ones(4, 6, dtype=torch.bool, device=device)
    for clip_eps in (0.2, 0.1, 0.3):
        assert_loss(submission.grpo_loss(logps, old, logps, adv, mask, clip_eps, 0.0),
                    loss_oracle(logps, old, logps, adv, mask, clip_eps, 0.0), TOL[torch.float64],
                    f" with clip_eps={clip_eps}")


@check(points=1)
def test_loss_ratio_direction(submission, device):
    # Ratios inside the clip range, so that the ratio itself (exp(logps - old)) sets the loss.
    logps, old, ref, adv, mask = rollout(4, 7, seed=6330, dtype=torch.float64, device=device, spread=0.05)
    assert_loss(submission.grpo_loss(logps, old, ref, adv, mask, 0.2, 0.0),
                loss_oracle(logps, old, ref, adv, mask, 0.2, 0.0), TOL[torch.float64])


@check(points=1)
def test_loss_kl_term(submission, device):
    # Zero advantages: the loss is beta times the k3 estimate alone. ref - logps of both signs
    # and up to ~2 in size: the direction of the difference shows.
    logps, old, ref, adv, mask = rollout(5, 6, seed=6340, dtype=torch.float64, device=device, spread=1.0)
    adv = torch.zeros_like(adv)
    for beta in (0.04, 0.5):
        assert_loss(submission.grpo_loss(logps, old, ref, adv, mask, 0.2, beta),
                    loss_oracle(logps, old, ref, adv, mask, 0.2, beta), TOL[torch.float64], f" with beta={beta}")


@check(points=1)
def test_loss_without_kl_penalty(submission, device):
    # beta = 0: the loss is the surrogate alone; mean_kl is still the unweighted estimate.
    logps, old, ref, adv, mask = rollout(4, 5, seed=6345, dtype=torch.float64, device=device, spread=0.6)
    assert_loss(submission.grpo_loss(logps, old, ref, adv, mask, 0.2, 0.0),
                loss_oracle(logps, old, ref, adv, mask, 0.2, 0.0), TOL[torch.float64])


@check(points=1)
def test_loss_mean_per_completion_then_batch(submission, device):
    # Completions of 1 and 10 tokens: one mean over all tokens would weigh the long one ten times.
    logps, old, ref, adv, mask = rollout(3, 10, seed=6350, dtype=torch.float64, device=device, lengths=[1, 10, 4])
    assert_loss(submission.grpo_loss(logps, old, ref, adv, mask, 0.2, 0.1),
                loss_oracle(logps, old, ref, adv, mask, 0.2, 0.1), TOL[torch.float64])


@check(points=1)
def test_loss_padding_excluded(submission, device):
    # Padding log-probs are ordinary values that differ from the tokens' (here ratios ~e^±1): they
    # must count neither in the sums nor in the lengths.
    logps, old, ref, adv, mask = rollout(4, 12, seed=6360, dtype=torch.float64, device=device, lengths=[3, 12, 7, 1])
    old = torch.where(mask, old, logps - 1.0)
    ref = torch.where(mask, ref, logps + 1.0)
    assert_loss(submission.grpo_loss(logps, old, ref, adv, mask, 0.2, 0.1),
                loss_oracle(logps, old, ref, adv, mask, 0.2, 0.1), TOL[torch.float64])


@check(points=1)
def test_loss_advantage_per_completion_square_batch(submission, device):
    # B = T: a (B,) advantage vector broadcast along the tokens pairs advantage j with token j.
    logps, old, ref, adv, mask = rollout(5, 5, seed=6370, dtype=torch.float64, device=device)
    assert_loss(submission.grpo_loss(logps, old, ref, adv, mask), loss_oracle(logps, old, ref, adv, mask),
                TOL[torch.float64])


@check(points=1)
def test_loss_batch_of_one_and_single_tokens(submission, device):
    for B, T, seed in ((1, 7, 6380), (4, 1, 6381), (1, 1, 6382)):
        logps, old, ref, adv, mask = rollout(B, T, seed=seed, device=device)
        assert_loss(submission.grpo_loss(logps, old, ref, adv, mask), loss_oracle(logps, old, ref, adv, mask),
                    TOL[torch.float32], f" for B={B}, T={T}")


@check(points=1)
def test_loss_strided_inputs(submission, device):
    # The three log-prob tensors as slices of one (B, T, 3) tensor, the mask transposed twice.
    logps, old, ref, adv, mask = rollout(4, 9, seed=6390, device=device)
    packed = torch.stack((logps, old, ref), dim=-1)  # (B, T, 3)
    adv = torch.stack((adv, -adv), dim=1)[:, 0]  # (B,), stride 2
    mask = mask.t().contiguous().t()
    lp, od, rf = packed.unbind(dim=-1)
    assert_loss(submission.grpo_loss(lp, od, rf, adv, mask), loss_oracle(lp, od, rf, adv, mask), TOL[torch.float32])
