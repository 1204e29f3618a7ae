"""Hidden checks for xavier_init: statistics of a large draw, shapes, reproducibility.

A random matrix is judged by its distribution. For n independent draws from U(−a, a):
- mean: 0, with standard error a / sqrt(3n) (the standard deviation of U(−a, a) is a / sqrt(3));
- mean of w²: a² / 3, with standard error sqrt(Var(w²) / n) where Var(w²) = E[w⁴] − (a²/3)² =
  a⁴/5 − a⁴/9 = 4a⁴/45;
- max: P(max < a(1 − t)) = (1 − t/2)^n ≈ exp(−nt/2);
- Kolmogorov–Smirnov distance D to the uniform CDF: P(D > c / sqrt(n)) ≈ 2·exp(−2c²).
Every limit below is set so that a correct answer fails with probability about 1e-6 or less
(5 standard errors: 5.7e-7 two-sided; exp(−nt/2) = 1e-7; c = 2.76 for KS), while each wrong scale
tried in the wrong answers misses by hundreds of standard errors. The seeds are fixed, so a
given answer always gets the same verdict.
"""

import math

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, check

SHAPES = [(256, 384), (1000, 30)]  # n = 98 304 and 30 000 entries; fan_in != fan_out in both


def bound(fan_in: int, fan_out: int) -> float:
    return math.sqrt(6.0 / (fan_in + fan_out))


def draw(submission, fan_in: int, fan_out: int, seed: int) -> torch.Tensor:
    w = submission.xavier_init(fan_in, fan_out, seed)
    if type(w) is not torch.Tensor:
        raise CheckFailure("result is not a tensor")
    if tuple(w.shape) != (fan_in, fan_out):
        raise CheckFailure("result has the wrong shape", f"got {tuple(w.shape)}, expected {(fan_in, fan_out)}")
    if w.dtype != torch.float32:
        raise CheckFailure("result has the wrong dtype", f"got {w.dtype}, expected torch.float32")
    return w.detach().cpu().to(torch.float64).reshape(-1)


@check(points=1)
@pytest.mark.parametrize("fan_in, fan_out", SHAPES, ids=["256x384", "1000x30"])
def test_range(submission, device, fan_in, fan_out):
    w = draw(submission, fan_in, fan_out, seed=201)
    a, n = bound(fan_in, fan_out), w.numel()
    if float(w.abs().max()) > a * (1 + 1e-6):  # one float32 ulp of slack at the ends
        raise CheckFailure("an entry lies outside [-a, a]")
    t = 2 * math.log(1e7) / n  # exp(-n t / 2) = 1e-7: how far from ±a the extremes may stay
    if float(w.max()) < a * (1 - t) or float(w.min()) > -a * (1 - t):
        raise CheckFailure("the entries do not fill [-a, a]: the bound is too small")


@check(points=1)
@pytest.mark.parametrize("fan_in, fan_out", SHAPES, ids=["256x384", "1000x30"])
def test_mean_is_zero(submission, device, fan_in, fan_out):
    w = draw(submission, fan_in, fan_out, seed=202)
    a, n = bound(fan_in, fan_out), w.numel()
    if abs(float(w.mean())) > 5 * a / math.sqrt(3 * n):
        raise CheckFailure("the mean of the entries is not 0")


@check(points=1)
@pytest.mark.parametrize("fan_in, fan_out", SHAPES, ids=["256x384", "1000x30"])
def test_variance(submission, device, fan_in, fan_out):
    w = draw(submission, fan_in, fan_out, seed=203)
    a, n = bound(fan_in, fan_out), w.numel()
    second = float((w * w).mean())
    if abs(second - a * a / 3) > 5 * math.sqrt(4 * a**4 / 45 / n):
        raise CheckFailure("the variance is not 2 / (fan_in + fan_out)")


@check(points=1)
def test_distribution_is_uniform(submission, device):
    fan_in, fan_out = 300, 200
    w = draw(submission, fan_in, fan_out, seed=204).sort().values
    a, n = bound(fan_in, fan_out), w.numel()
    cdf = ((w + a) / (2 * a)).clamp(0, 1)
    ranks = torch.arange(1, n + 1, dtype=torch.float64)
    d = torch.maximum(ranks / n - cdf, cdf - (ranks - 1) / n).max()
    if float(d) > 2.76 / math.sqrt(n):  # P(D > 2.76 / sqrt(n)) ≈ 2·exp(−2·2.76²) ≈ 5e-7
        raise CheckFailure("the entries are not uniformly distributed on [-a, a]")


@check(points=1)
@pytest.mark.parametrize("fan_in, fan_out", [(1, 1), (1, 7), (9, 2)], ids=["1x1", "1x7", "9x2"])
def test_small_shapes(submission, device, fan_in, fan_out):
    w = draw(submission, fan_in, fan_out, seed=205)
    if float(w.abs().max()) > bound(fan_in, fan_out) * (1 + 1e-6):
        raise CheckFailure("an entry lies outside [-a, a]")


@check(points=1)
def test_reproducible_and_seed_dependent(submission, device):
    first = submission.xavier_init(17, 29, 7)
    again = submission.xavier_init(17, 29, 7)
    other = submission.xavier_init(17, 29, 8)
    if type(first) is not torch.Tensor or type(other) is not torch.Tensor:
        raise CheckFailure("result is not a tensor")
    assert_tensor(again, first, rtol=0, atol=0, what="a second matrix drawn with the same seed")
    if torch.equal(first, other):
        raise CheckFailure("a different seed gave the same matrix")
