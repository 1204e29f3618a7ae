"""Hidden checks for distill_loss: direction, temperature, batch mean, shapes, extremes, dtypes, routes."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import CheckFailure, assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# Sums of O(1) terms over at most a few hundred entries: float32 within 1e-5 relative (1e-6 absolute
# for small losses), float64 within 1e-12.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-13)}


def oracle(student: torch.Tensor, teacher: torch.Tensor, T: float) -> torch.Tensor:
    return F.kl_div(F.log_softmax(student / T, -1), F.log_softmax(teacher / T, -1), reduction="batchmean",
                    log_target=True) * T**2


def pair(*shape: int, seed: int, dtype=torch.float32, device="cpu", scale: float = 2.0):
    return (randn(*shape, seed=seed, dtype=dtype, device=device, scale=scale),
            randn(*shape, seed=seed + 1, dtype=dtype, device=device, scale=scale))


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values(submission, device, dtype):
    s, t = pair(6, 10, seed=1402, dtype=dtype, device=device)
    assert_tensor(submission.distill_loss(s, t, 2.5), oracle(s, t, 2.5), **TOL[dtype])


@check(points=1)
def test_direction_teacher_weights(submission, device):
    # A peaked teacher and a flat student: KL(p ‖ q) and KL(q ‖ p) differ by a factor of ~3 here.
    s = randn(5, 8, seed=1403, dtype=torch.float64, device=device, scale=0.3)
    t = randn(5, 8, seed=1404, dtype=torch.float64, device=device, scale=4.0)
    assert_tensor(submission.distill_loss(s, t, 1.0), oracle(s, t, 1.0), **TOL[torch.float64])


@check(points=2)
def test_temperatures(submission, device):
    s, t = pair(4, 9, seed=1405, dtype=torch.float64, device=device)
    for T in (1.0, 0.5, 4.0, 3):  # 3: an int temperature
        assert_tensor(submission.distill_loss(s, t, T), oracle(s, t, T), **TOL[torch.float64], what=f"loss at T={T}")


@check(points=1)
def test_divides_by_batch_size_only(submission, device):
    s, t = pair(3, 50, seed=1406, dtype=torch.float64, device=device)
    assert_tensor(submission.distill_loss(s, t, 2.0), oracle(s, t, 2.0), **TOL[torch.float64])


@check(points=1)
def test_sequence_logits_sum_positions(submission, device):
    # (N, S, C): all N·S rows are summed and divided by N (batchmean), not by N·S.
    s, t = pair(2, 5, 6, seed=1407, dtype=torch.float64, device=device)
    assert_tensor(submission.distill_loss(s, t, 1.5), oracle(s, t, 1.5), **TOL[torch.float64])


@check(points=1)
def test_batch_of_one(submission, device):
    s, t = pair(1, 11, seed=1408, device=device)
    assert_tensor(submission.distill_loss(s, t, 2.0), oracle(s, t, 2.0), **TOL[torch.float32])


@check(points=1)
def test_softmax_over_classes(submission, device):
    # N ≠ C and very different columns: a softmax over the batch (dim 0) gives another number.
    s, t = pair(7, 4, seed=1409, dtype=torch.float64, device=device, scale=3.0)
    assert_tensor(submission.distill_loss(s, t, 1.0), oracle(s, t, 1.0), **TOL[torch.float64])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_large_logit_gaps_stay_finite(submission, device, dtype):
    # Gaps of ~1000 at T = 1: most teacher probabilities underflow to exactly 0.
    s, t = pair(3, 12, seed=1410, dtype=dtype, device=device, scale=600.0)
    assert_tensor(submission.distill_loss(s, t, 1.0), oracle(s, t, 1.0), **TOL[dtype])


@check(points=1)
def test_result_is_a_zero_dim_tensor(submission, device):
    s, t = pair(2, 3, seed=1411, dtype=torch.float64, device=device)
    out = submission.distill_loss(s, t, 2.0)
    if type(out) is not torch.Tensor:
        raise CheckFailure("the result is not a tensor", f"got {type(out).__name__}; return a 0-d tensor")
    assert_tensor(out, oracle(s, t, 2.0), **TOL[torch.float64])


@check(points=1)
def test_non_negative_on_random_pairs(submission, device):
    for seed in (1412, 1414, 1416):
        s, t = pair(8, 5, seed=seed, device=device, scale=5.0)
        out = submission.distill_loss(s, t, 2.0)
        assert_tensor(out, oracle(s, t, 2.0), **TOL[torch.float32], what=f"loss for seed {seed}")
        if float(out) < -1e-6:
            raise CheckFailure("the loss is negative", "KL(p ‖ q) is never below 0")
