"""Public checks for sampling: the worked example, and each function against a brute-force oracle.

The oracles compare every pair of tokens of a row (O(V²) per row): slow, but each follows the
statement's definition word for word. The hidden checks reuse them (this file ships with every
release).
"""

import math

import torch

from grader.checks import CheckFailure, assert_tensor, check, rand, randn

NEG_INF = -math.inf


# Oracles ---------------------------------------------------------------------------------------

def top_k_oracle(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Token j survives when fewer than k tokens of its row have a strictly larger logit."""
    if k == 0:  # no filter: as if k were V
        k = logits.shape[-1]
    larger = (logits[:, None, :] > logits[:, :, None]).sum(dim=-1)  # (B, V): #{i : z_i > z_j}
    return logits.masked_fill(larger >= k, NEG_INF)


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """softmax in float64: the exact distribution the contract's float32/float64 ones approximate."""
    return torch.softmax(logits.double(), dim=-1)


def mass_above(logits: torch.Tensor) -> torch.Tensor:
    """(B, V) float64: for each token, the probability of the tokens with a strictly larger logit."""
    probs = probabilities(logits)
    larger = logits[:, None, :] > logits[:, :, None]  # [b, j, i]: z_i > z_j
    return (larger.double() * probs[:, None, :]).sum(dim=-1)


def top_p_oracle(logits: torch.Tensor, p: float, margin: float = 1e-5) -> torch.Tensor:
    """Token j survives when mass_above(j) < p; p = 1 keeps everything.

    ``margin``: the check's own inputs are asserted to keep every finite token's mass above at
    least this far from p, so that no float rounding of an honest answer can flip a token.
    0 turns the assertion off (inputs whose boundaries are exact in floating point).
    """
    if p >= 1.0:  # the whole distribution: as if p were beyond every mass above
        p = math.inf
    above = mass_above(logits)
    finite = torch.isfinite(logits)
    if margin and bool(((above - p).abs() < margin)[finite].any()):
        raise AssertionError("check inputs too close to a top-p boundary")  # the check's bug, not the answer's
    return logits.masked_fill(above >= p, NEG_INF)


def cdf_oracle(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """(B, V) float64 cumulative probabilities of the filtered distribution, in vocabulary order."""
    z = logits.double() / temperature
    z = top_p_oracle(top_k_oracle(z, top_k), top_p)
    return torch.cumsum(torch.softmax(z, dim=-1), dim=-1)


def sample_oracle(logits: torch.Tensor, u: torch.Tensor, temperature: float = 1.0, top_k: int = 0,
                  top_p: float = 1.0, margin: float = 1e-5) -> torch.Tensor:
    """The first index whose cumulative probability exceeds u (u is asserted ``margin`` away)."""
    if temperature == 0.0:  # greedy
        return torch.argmax(logits, dim=-1)
    cdf = cdf_oracle(logits, temperature, top_k, top_p)
    u64 = u.double()[:, None]
    if margin and bool(((cdf - u64).abs() < margin).any()):
        raise AssertionError("check inputs too close to a sampling boundary")
    index = torch.zeros(len(u), dtype=torch.int64, device=logits.device)
    for i in range(cdf.shape[-1] - 1):  # every c_i <= u moves the answer one token further on
        index += (cdf[:, i] <= u64[:, 0]).long()
    return index


# Checks ----------------------------------------------------------------------------------------

@check(points=1)
def test_worked_example(submission, device):
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0]], device=device)
    after_k = submission.top_k_filter(logits, 3)
    assert_tensor(after_k, torch.tensor([[1.0, 3.0, 2.0, NEG_INF]], device=device), rtol=0, atol=0,
                  what="top_k_filter(logits, 3)")
    after_p = submission.top_p_filter(after_k, 0.9)
    assert_tensor(after_p, torch.tensor([[NEG_INF, 3.0, 2.0, NEG_INF]], device=device), rtol=0, atol=0,
                  what="top_p_filter(top_k_filter(logits, 3), 0.9)")
    tokens = submission.sample(logits.repeat(3, 1), torch.tensor([0.5, 0.8, 0.0], device=device), 1.0, 3, 0.9)
    assert_tensor(tokens, torch.tensor([1, 2, 1], device=device), rtol=0, atol=0, what="sample with u = 0.5, 0.8, 0")
    greedy = submission.sample(logits, torch.tensor([0.5], device=device), 0.0, 3, 0.9)
    assert_tensor(greedy, torch.tensor([1], device=device), rtol=0, atol=0, what="sample with temperature 0")


@check(points=1)
def test_top_k_random_rows(submission, device):
    logits = randn(6, 11, seed=11, device=device, scale=2.0)
    for k in (1, 4, 11):
        assert_tensor(submission.top_k_filter(logits, k), top_k_oracle(logits, k), rtol=0, atol=0,
                      what=f"top_k_filter with k = {k}")


@check(points=1)
def test_top_p_random_rows(submission, device):
    logits = randn(5, 9, seed=21, device=device, scale=2.0)
    for p in (0.3, 0.75, 0.95):
        # Kept logits come back bit for bit, removed ones are -inf: exact comparison.
        assert_tensor(submission.top_p_filter(logits, p), top_p_oracle(logits, p), rtol=0, atol=0,
                      what=f"top_p_filter with p = {p}")


@check(points=1)
def test_sample_follows_u(submission, device):
    logits = randn(8, 13, seed=31, device=device, scale=2.0)
    u = rand(8, seed=32, dtype=torch.float64, device=device)
    got = submission.sample(logits, u, 0.8, 6, 0.9)
    assert_tensor(got, sample_oracle(logits, u, 0.8, 6, 0.9), rtol=0, atol=0, what="tokens")
