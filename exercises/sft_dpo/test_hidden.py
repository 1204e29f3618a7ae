"""Hidden checks for sft_dpo: the shift, the response mask, sums and means, stability, the DPO terms."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, assert_tuple, check, generator, rand, randn

DTYPES = [torch.float32, torch.float64]
# Log-probabilities of O(1..10) summed over at most a few dozen tokens, in another order than the
# library's: float32 within 1e-5 relative (plus 1e-5 near 0), float64 within 1e-10.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}


def batch(B: int, T: int, V: int, seed: int, dtype=torch.float32, device="cpu", scale=2.0, left_pad=False,
          empty_rows=(), no_prompt_rows=()):
    """Seeded logits, tokens and a response mask: per row a prompt, a response, then padding.

    Prompt lengths and response lengths differ from row to row; ``left_pad`` moves the padding in
    front of the prompt. Rows in ``empty_rows`` hold no response token; rows in ``no_prompt_rows``
    are response from position 0 on (``response_mask[b, 0]`` True).
    """
    g = generator(seed)
    logits = randn(B, T, V, seed=seed, dtype=dtype, device=device, scale=scale)
    tokens = torch.randint(0, V, (B, T), generator=g)
    mask = torch.zeros(B, T, dtype=torch.bool)
    for b in range(B):
        prompt = 0 if b in no_prompt_rows else int(torch.randint(1, T // 2 + 1, (), generator=g))
        response = 0 if b in empty_rows else int(torch.randint(1, T - prompt + 1, (), generator=g))
        pad = T - prompt - response
        start = prompt + (pad if left_pad else 0)
        mask[b, start:start + response] = True
    return logits, tokens.to(device), mask.to(device)


def nll(logits, tokens, mask, reduction):
    # The library's cross-entropy on the shifted targets, prompt and padding set to ignore_index.
    targets = tokens[:, 1:].masked_fill(~mask[:, 1:], -100)
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), targets, ignore_index=-100, reduction=reduction)


def seq_oracle(logits, tokens, mask):
    return -nll(logits, tokens, mask, "none").sum(dim=-1)


def sft_oracle(logits, tokens, mask):
    return nll(logits, tokens, mask, "mean")


def dpo_oracle(pc, pr, rc, rr, beta):
    chosen, rejected = beta * (pc - rc), beta * (pr - rr)
    return -F.logsigmoid(chosen - rejected).mean(), chosen, rejected


def assert_dpo(result, expected, tol):
    loss, chosen, rejected = assert_tuple(result, 3)
    assert_tensor(loss, expected[0], **tol, what="loss")
    assert_tensor(chosen, expected[1], **tol, what="chosen_rewards")
    assert_tensor(rejected, expected[2], **tol, what="rejected_rewards")


def logps(B: int, seed: int, dtype=torch.float32, device="cpu", scale=30.0):
    """Four (B,) sequence log-probabilities, negative like real ones."""
    return tuple(-rand(B, seed=seed + i, dtype=dtype, device=device, high=scale) for i in range(4))


# sequence_logprobs ---------------------------------------------------------------------------------

@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_sequence_logprobs_values(submission, device, dtype):
    logits, tokens, mask = batch(3, 11, 17, seed=5201, dtype=dtype, device=device)
    assert_tensor(submission.sequence_logprobs(logits, tokens, mask), seq_oracle(logits, tokens, mask), **TOL[dtype])


@check(points=1)
def test_sequence_logprobs_left_padding(submission, device):
    # Padding before the prompt: the response ends at the last position, so dropping the last
    # target (a mask aligned with the logits) or counting the prompt both show.
    logits, tokens, mask = batch(4, 13, 9, seed=5210, dtype=torch.float64, device=device, left_pad=True)
    assert_tensor(submission.sequence_logprobs(logits, tokens, mask), seq_oracle(logits, tokens, mask),
                  **TOL[torch.float64])


@check(points=1)
def test_sequence_logprobs_prompt_excluded(submission, device):
    # Long prompts with one response token each: the prompt's log-probs dwarf the response's.
    logits, tokens, _ = batch(3, 12, 6, seed=5215, dtype=torch.float64, device=device)
    mask = torch.zeros(3, 12, dtype=torch.bool, device=device)
    mask[0, 11], mask[1, 9], mask[2, 5] = True, True, True
    assert_tensor(submission.sequence_logprobs(logits, tokens, mask), seq_oracle(logits, tokens, mask),
                  **TOL[torch.float64])


@check(points=1)
def test_sequence_logprobs_first_position_ignored(submission, device):
    # Rows without a prompt: response_mask[:, 0] is True there, and token 0 has no prediction.
    logits, tokens, mask = batch(3, 8, 7, seed=5220, dtype=torch.float64, device=device, no_prompt_rows=(0, 2))
    assert_tensor(submission.sequence_logprobs(logits, tokens, mask), seq_oracle(logits, tokens, mask),
                  **TOL[torch.float64])


@check(points=1)
def test_sequence_without_response_gives_zero(submission, device):
    logits, tokens, mask = batch(3, 9, 5, seed=5230, dtype=torch.float64, device=device, empty_rows=(1,))
    assert_tensor(submission.sequence_logprobs(logits, tokens, mask), seq_oracle(logits, tokens, mask),
                  **TOL[torch.float64])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_sequence_logprobs_large_logits(submission, device, dtype):
    # Logits of several hundred: unlikely tokens sit 1e3 below the row maximum, where softmax
    # rounds to 0 in both dtypes and log(softmax) is -inf. Log-probs of ~1e3: relative tolerance.
    logits, tokens, mask = batch(2, 10, 12, seed=5240, dtype=dtype, device=device, scale=300.0)
    assert_tensor(submission.sequence_logprobs(logits, tokens, mask), seq_oracle(logits, tokens, mask), **TOL[dtype])


@check(points=1)
def test_sequence_logprobs_non_contiguous(submission, device):
    logits, tokens, mask = batch(3, 10, 8, seed=5250, device=device)
    logits = logits.transpose(1, 2).contiguous().transpose(1, 2)  # (B, T, V) with V as the outer stride
    tokens = torch.stack((tokens, tokens.flip(1)), dim=-1)[..., 0]  # (B, T), stride 2
    mask = mask.t().contiguous().t()
    assert_tensor(submission.sequence_logprobs(logits, tokens, mask), seq_oracle(logits, tokens, mask),
                  **TOL[torch.float32])


@check(points=1)
def test_sequence_logprobs_small_shapes(submission, device):
    # A batch of one, the shortest sequences (T = 2: one prediction) and a vocabulary of one.
    for B, T, V, seed in ((1, 7, 5, 5260), (4, 2, 3, 5261), (2, 5, 1, 5262)):
        logits, tokens, mask = batch(B, T, V, seed=seed, device=device)
        assert_tensor(submission.sequence_logprobs(logits, tokens, mask), seq_oracle(logits, tokens, mask),
                      **TOL[torch.float32], what=f"result for B={B}, T={T}, V={V}")


# sft_loss ------------------------------------------------------------------------------------------

@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_sft_loss_values(submission, device, dtype):
    logits, tokens, mask = batch(3, 11, 17, seed=5301, dtype=dtype, device=device)
    assert_tensor(submission.sft_loss(logits, tokens, mask), sft_oracle(logits, tokens, mask), **TOL[dtype])


@check(points=1)
def test_sft_loss_is_one_mean_over_tokens(submission, device):
    # Responses of 1 and 9 tokens: the mean of the two per-sequence means weighs them equally.
    logits, tokens, _ = batch(2, 12, 7, seed=5310, dtype=torch.float64, device=device)
    mask = torch.zeros(2, 12, dtype=torch.bool, device=device)
    mask[0, 11], mask[1, 3:] = True, True
    assert_tensor(submission.sft_loss(logits, tokens, mask), sft_oracle(logits, tokens, mask), **TOL[torch.float64])


@check(points=1)
def test_sft_loss_sequence_without_response(submission, device):
    logits, tokens, mask = batch(4, 9, 6, seed=5320, dtype=torch.float64, device=device, empty_rows=(0, 2))
    assert_tensor(submission.sft_loss(logits, tokens, mask), sft_oracle(logits, tokens, mask), **TOL[torch.float64])


@check(points=1)
def test_sft_loss_first_position_not_counted(submission, device):
    # Rows without a prompt: position 0 is neither a term nor part of the count.
    logits, tokens, mask = batch(3, 6, 5, seed=5330, dtype=torch.float64, device=device, no_prompt_rows=(0, 1, 2))
    assert_tensor(submission.sft_loss(logits, tokens, mask), sft_oracle(logits, tokens, mask), **TOL[torch.float64])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_sft_loss_large_logits(submission, device, dtype):
    logits, tokens, mask = batch(3, 8, 10, seed=5340, dtype=dtype, device=device, scale=300.0)
    assert_tensor(submission.sft_loss(logits, tokens, mask), sft_oracle(logits, tokens, mask), **TOL[dtype])


# dpo_loss ------------------------------------------------------------------------------------------

@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_dpo_loss_values(submission, device, dtype):
    pc, pr, rc, rr = logps(7, seed=5401, dtype=dtype, device=device)
    loss = assert_tuple(submission.dpo_loss(pc, pr, rc, rr, 0.1), 3)[0]
    assert_tensor(loss, dpo_oracle(pc, pr, rc, rr, 0.1)[0], **TOL[dtype], what="loss")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_dpo_implicit_rewards(submission, device, dtype):
    pc, pr, rc, rr = logps(6, seed=5410, dtype=dtype, device=device)
    _, chosen, rejected = assert_tuple(submission.dpo_loss(pc, pr, rc, rr, 0.3), 3)
    _, want_chosen, want_rejected = dpo_oracle(pc, pr, rc, rr, 0.3)
    assert_tensor(chosen, want_chosen, **TOL[dtype], what="chosen_rewards")
    assert_tensor(rejected, want_rejected, **TOL[dtype], what="rejected_rewards")


@check(points=1)
def test_dpo_uses_the_reference(submission, device):
    # The policy is indifferent (equal log-probs for both responses); only the reference's
    # preference moves the loss away from log 2.
    f64 = dict(dtype=torch.float64, device=device)
    policy = -rand(5, seed=5420, high=20.0, **f64)
    rc, rr = -rand(5, seed=5421, high=20.0, **f64), -rand(5, seed=5422, high=20.0, **f64)
    assert_dpo(submission.dpo_loss(policy, policy.clone(), rc, rr, 0.2), dpo_oracle(policy, policy, rc, rr, 0.2),
               TOL[torch.float64])


@check(points=1)
def test_dpo_beta_inside_the_sigmoid(submission, device):
    pc, pr, rc, rr = logps(4, seed=5430, dtype=torch.float64, device=device)
    for beta in (0.01, 0.5, 4.0):
        loss = assert_tuple(submission.dpo_loss(pc, pr, rc, rr, beta), 3, what=f"result for beta={beta}")[0]
        assert_tensor(loss, dpo_oracle(pc, pr, rc, rr, beta)[0], **TOL[torch.float64], what=f"loss for beta={beta}")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_dpo_extreme_margins_stay_finite(submission, device, dtype):
    # β·margins from -1e4 to 1e4: log σ(z) ≈ z far below 0 and ≈ 0 far above. A log of the
    # sigmoid is -inf there, and log(1 + exp(-z)) overflows.
    z = torch.tensor([-1e4, -800.0, -120.0, -30.0, 0.0, 30.0, 120.0, 1e4], dtype=dtype, device=device)
    zeros = torch.zeros_like(z)
    for i in range(len(z)):  # one pair at a time: a single infinite term would hide the others
        pc, pr, rc, rr = z[i:i + 1], zeros[i:i + 1], zeros[i:i + 1], zeros[i:i + 1]
        loss = assert_tuple(submission.dpo_loss(pc, pr, rc, rr, 1.0), 3)[0]
        assert_tensor(loss, dpo_oracle(pc, pr, rc, rr, 1.0)[0], **TOL[dtype], what=f"loss at margin {z[i].item():g}")


@check(points=1)
def test_dpo_mean_over_pairs(submission, device):
    # The same pair repeated 9 times has the loss of that pair: a sum grows with the batch.
    one = logps(1, seed=5440, dtype=torch.float64, device=device)
    nine = tuple(t.expand(9).contiguous() for t in one)
    assert_dpo(submission.dpo_loss(*nine, 0.1), dpo_oracle(*nine, 0.1), TOL[torch.float64])


@check(points=1)
def test_dpo_batch_of_one_and_strided_views(submission, device):
    table = randn(10, 4, seed=5450, device=device, scale=15.0) - 40.0  # (B, 4): four strided columns
    pc, pr, rc, rr = table.unbind(dim=1)
    assert_dpo(submission.dpo_loss(pc, pr, rc, rr, 0.25), dpo_oracle(pc, pr, rc, rr, 0.25), TOL[torch.float32])
    # A batch of one, cloned: a (1,) slice of a column keeps stride 4, which the codec cannot send.
    pc, pr, rc, rr = (t[:1].clone(memory_format=torch.contiguous_format) for t in (pc, pr, rc, rr))
    assert_dpo(submission.dpo_loss(pc, pr, rc, rr, 0.25), dpo_oracle(pc, pr, rc, rr, 0.25), TOL[torch.float32])
