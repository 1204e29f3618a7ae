"""Hidden checks for sampling: ties, exact top-p boundaries, edge values of k, p and T, dtypes,
vocabulary-order sampling, the order of the filters, distributions over a grid of uniforms."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, check, rand, randn

_spec = importlib.util.spec_from_file_location("sampling_public_checks", Path(__file__).with_name("test_public.py"))
public = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public)

NEG_INF = float("-inf")
LN2 = math.log(2.0)
DTYPES = [torch.float32, torch.float64, torch.bfloat16]
DTYPE_IDS = ["float32", "float64", "bfloat16"]
# Every filter comparison is exact (rtol = atol = 0): kept logits come back bit for bit and removed
# ones are -inf; every token comparison is exact too. Where rounding could matter, the oracles
# assert that the inputs keep p and u more than 1e-5 from every boundary.
EXACT = dict(rtol=0, atol=0)


def hf_top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """transformers' TopKLogitsWarper (min_tokens_to_keep = 1), line for line."""
    top_k = min(max(k, 1), logits.size(-1))
    indices_to_remove = logits < torch.topk(logits, top_k)[0][..., -1, None]
    return logits.masked_fill(indices_to_remove, NEG_INF)


def hf_top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """transformers' TopPLogitsWarper (min_tokens_to_keep = 1), probabilities in float64.

    Without ties it agrees with the statement's rule; with ties its answer depends on the sort.
    """
    sorted_logits, sorted_indices = torch.sort(logits, descending=False)
    cumulative_probs = sorted_logits.double().softmax(dim=-1).cumsum(dim=-1)
    sorted_indices_to_remove = cumulative_probs <= (1 - p)
    sorted_indices_to_remove[..., -1:] = 0
    indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)
    return logits.masked_fill(indices_to_remove, NEG_INF)


def tied_logits(B: int, V: int, seed: int, levels: int, dtype=torch.float32, device="cpu") -> torch.Tensor:
    """Integer-valued logits in [0, levels): every row full of ties."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, levels, (B, V), generator=g).to(dtype).to(device)


# top_k_filter ------------------------------------------------------------------------------------

@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_top_k_matches_hugging_face(submission, device, dtype):
    logits = randn(7, 29, seed=101, dtype=dtype, device=device, scale=3.0)
    for k in (1, 2, 5, 28):
        expected = hf_top_k(logits, k)
        assert torch.equal(expected, public.top_k_oracle(logits, k))
        assert_tensor(submission.top_k_filter(logits, k), expected, **EXACT, what=f"top-k with k = {k}")


@check(points=2)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_top_k_keeps_ties_at_the_kth_value(submission, device, dtype):
    # Six levels over 20 tokens: the k-th value is almost always shared, so more than k survive.
    logits = tied_logits(9, 20, seed=111, levels=6, dtype=dtype, device=device)
    for k in (1, 3, 7, 12):
        expected = public.top_k_oracle(logits, k)
        assert bool(((expected > NEG_INF).sum(-1) > k).any())
        assert_tensor(submission.top_k_filter(logits, k), expected, **EXACT, what=f"top-k with ties, k = {k}")


@check(points=1)
def test_top_k_edge_values(submission, device):
    logits = randn(3, 8, seed=121, device=device)
    for k in (8, 9, 1000, 0):  # k >= V and k = 0 keep every token
        assert_tensor(submission.top_k_filter(logits, k), logits, **EXACT, what=f"top-k with k = {k} (V = 8)")
    # Rows with fewer finite logits than k: the k-th largest is -inf and every token is kept.
    logits = randn(4, 10, seed=131, dtype=torch.float64, device=device)
    logits[0, 3:] = NEG_INF
    logits[1, ::2] = NEG_INF
    logits[2, :9] = NEG_INF
    for k in (2, 4, 6):
        assert_tensor(submission.top_k_filter(logits, k), public.top_k_oracle(logits, k), **EXACT,
                      what=f"top-k of rows with -inf, k = {k}")


@check(points=1)
def test_top_k_batch_of_one_and_non_contiguous(submission, device):
    one = randn(1, 17, seed=141, device=device)
    assert_tensor(submission.top_k_filter(one, 5), public.top_k_oracle(one, 5), **EXACT, what="a batch of one")
    strided = randn(23, 6, seed=142, device=device).t()  # (6, 23), column-major
    assert not strided.is_contiguous()
    assert_tensor(submission.top_k_filter(strided, 4), public.top_k_oracle(strided, 4), **EXACT,
                  what="a non-contiguous batch")


# top_p_filter ------------------------------------------------------------------------------------

@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_top_p_matches_hugging_face(submission, device, dtype):
    # float32/float64 normals have no ties; bfloat16 ones do, so there only the contract's oracle.
    logits = randn(6, 31, seed=151, dtype=dtype, device=device, scale=2.5)
    for p in (0.05, 0.5, 0.8, 0.95):
        expected = public.top_p_oracle(logits, p)
        if dtype != torch.bfloat16:
            assert torch.equal(expected, hf_top_p(logits, p))
        assert_tensor(submission.top_p_filter(logits, p), expected, **EXACT, what=f"top-p with p = {p}")


@check(points=2)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_top_p_reached_exactly(submission, device, dtype):
    # Probabilities 1/2, 1/4, 1/8, 1/8 (exact in floating point, in any token order): {1/2, 1/4}
    # reaches p = 0.75 exactly, so the 1/8 tokens go; {1/2} reaches p = 0.5, so only it stays.
    logits = torch.tensor([[-2 * LN2, 0.0, -2 * LN2, -LN2], [-LN2, -2 * LN2, -2 * LN2, 0.0]],
                          dtype=dtype, device=device)
    for p, kept in ((0.75, [[False, True, False, True], [True, False, False, True]]),
                    (0.5, [[False, True, False, False], [False, False, False, True]]),
                    (0.875, [[True, True, True, True], [True, True, True, True]])):
        expected = logits.masked_fill(~torch.tensor(kept, device=device), NEG_INF)
        assert_tensor(submission.top_p_filter(logits, p), expected, **EXACT, what=f"top-p with p = {p}")


@check(points=2)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_top_p_keeps_tied_tokens_together(submission, device, dtype):
    # Integer logits: the token that crosses p usually has equal-logit twins, which stay with it.
    logits = tied_logits(10, 16, seed=161, levels=5, dtype=dtype, device=device)
    cut_inside_a_tie = False
    for p in (0.3, 0.55, 0.8):
        expected = public.top_p_oracle(logits, p)
        cut_inside_a_tie |= not torch.equal(expected, hf_top_p(logits, p))
        assert_tensor(submission.top_p_filter(logits, p), expected, **EXACT, what=f"top-p with ties, p = {p}")
    assert cut_inside_a_tie  # the inputs do separate the tie rule from a positional cut


@check(points=1)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_top_p_tiny_p_keeps_the_top_token(submission, device, dtype):
    logits = randn(5, 12, seed=171, dtype=dtype, device=device, scale=2.0)
    logits[4, 7] = logits[4].max()  # a row whose maximum is tied: both maxima stay
    expected = logits.masked_fill(logits < logits.amax(dim=-1, keepdim=True), NEG_INF)
    for p in (1e-3, 1e-9, 1e-18):  # 1 - p rounds to 1 in float32 (1e-9) and float64 (1e-18)
        assert_tensor(submission.top_p_filter(logits, p), expected, **EXACT, what=f"top-p with p = {p:g}")


@check(points=1)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_top_p_one_keeps_everything(submission, device, dtype):
    # Tokens 60 to 100 below the maximum: probabilities near 1e-30 whose mass above rounds to 1.
    logits = randn(4, 9, seed=181, device=device).to(dtype)
    logits[:, 2] = -70.0
    logits[:, 5] = -100.0
    logits[1, 0] = NEG_INF
    assert_tensor(submission.top_p_filter(logits, 1.0), logits, **EXACT, what="top-p with p = 1")


@check(points=1)
def test_top_p_with_minus_inf_and_batch_of_one(submission, device):
    logits = randn(3, 14, seed=191, dtype=torch.float64, device=device, scale=2.0)
    logits[0, 5:] = NEG_INF
    logits[1, 0] = NEG_INF
    logits[2, 1:] = NEG_INF  # one finite token: always kept
    for p in (0.4, 0.9):
        assert_tensor(submission.top_p_filter(logits, p), public.top_p_oracle(logits, p), **EXACT,
                      what=f"top-p of rows with -inf, p = {p}")
    # Flat rows and p = 0.99: every token is kept, the least likely one included.
    flat = randn(2, 5, seed=193, device=device, scale=0.3)
    assert_tensor(submission.top_p_filter(flat, 0.99), public.top_p_oracle(flat, 0.99), **EXACT, what="top-p keeping every token")
    assert torch.equal(public.top_p_oracle(flat, 0.99), flat)
    one = randn(1, 21, seed=192, device=device, scale=2.0)
    assert_tensor(submission.top_p_filter(one, 0.7), public.top_p_oracle(one, 0.7), **EXACT, what="a batch of one")


@check(points=1)
def test_top_p_non_contiguous(submission, device):
    strided = randn(19, 7, seed=201, device=device, scale=2.0).t()  # (7, 19), column-major
    assert not strided.is_contiguous()
    assert_tensor(submission.top_p_filter(strided, 0.6), public.top_p_oracle(strided, 0.6), **EXACT,
                  what="a non-contiguous batch")


# sample ------------------------------------------------------------------------------------------

@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_sample_matches_oracle(submission, device, dtype):
    logits = randn(12, 37, seed=211, dtype=dtype, device=device, scale=2.0)
    u = rand(12, seed=212, dtype=torch.float64, device=device)
    for temperature, top_k, top_p in ((1.0, 0, 1.0), (0.7, 10, 0.9), (1.5, 0, 0.6), (0.9, 3, 1.0)):
        expected = public.sample_oracle(logits, u, temperature, top_k, top_p)
        assert_tensor(submission.sample(logits, u, temperature, top_k, top_p), expected, **EXACT,
                      what=f"tokens (T = {temperature}, top_k = {top_k}, top_p = {top_p})")


@check(points=1)
def test_sample_float32_uniforms(submission, device):
    logits = randn(9, 15, seed=221, dtype=torch.float64, device=device, scale=1.5)
    u = rand(9, seed=222, dtype=torch.float32, device=device)
    assert_tensor(submission.sample(logits, u, 1.2, 8, 0.85), public.sample_oracle(logits, u, 1.2, 8, 0.85),
                  **EXACT, what="tokens for float32 u")


@check(points=2)
def test_sample_uses_vocabulary_order(submission, device):
    # The cumulative sum runs over token ids 0, 1, 2, ...: not in sorted order.
    logits = torch.tensor([[0.0, 2.0, 1.0, 3.0, -1.0]], dtype=torch.float64, device=device).repeat(6, 1)
    u = torch.tensor([0.01, 0.05, 0.2, 0.4, 0.7, 0.95], dtype=torch.float64, device=device)
    assert_tensor(submission.sample(logits, u), public.sample_oracle(logits, u), **EXACT, what="tokens")


@check(points=1)
def test_sample_u_zero_skips_impossible_tokens(submission, device):
    # c_i > u, strictly: with u = 0 the first token of non-zero probability, never a -inf one.
    logits = randn(4, 8, seed=231, dtype=torch.float64, device=device)
    logits[0, :3] = NEG_INF
    logits[1, 0] = NEG_INF
    u = torch.zeros(4, dtype=torch.float64, device=device)
    expected = torch.tensor([3, 1, 0, 0], device=device)
    assert_tensor(submission.sample(logits, u), expected, **EXACT, what="tokens for u = 0")
    # top-k = 2 removes token 0 of rows 2 and 3 unless it is among the two largest.
    got = submission.sample(logits, u, 1.0, 2)
    first_kept = (public.top_k_oracle(logits, 2) > NEG_INF).long().argmax(dim=-1)
    assert_tensor(got, first_kept, **EXACT, what="tokens for u = 0 after top-k")


@check(points=1)
def test_sample_u_near_one(submission, device):
    # u within rounding of 1: the last token of non-zero probability (index 2 here: top-k keeps
    # tokens 0, 1 and 2), never one of the filtered tokens after it.
    logits = torch.tensor([[0.5, 2.0, 1.0, -3.0, 0.0, -2.0]], device=device).repeat(3, 1)
    u = torch.tensor([1 - 1e-12, 1 - 1e-9, 0.999999], dtype=torch.float64, device=device)
    cdf = public.cdf_oracle(logits, 1.0, 3, 1.0)
    assert bool((cdf[:, 1] < u - 0.1).all())
    assert_tensor(submission.sample(logits, u, 1.0, 3), torch.full((3,), 2, device=device), **EXACT,
                  what="tokens for u close to 1")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_temperature_zero_is_argmax(submission, device, dtype):
    logits = randn(6, 10, seed=241, dtype=dtype, device=device, scale=2.0)
    logits[2, 7] = logits[2].max()  # a tied maximum: the first index wins
    u = rand(6, seed=242, dtype=torch.float64, device=device)
    expected = torch.argmax(logits, dim=-1)
    assert_tensor(submission.sample(logits, u, 0.0, 3, 0.5), expected, **EXACT, what="greedy tokens")
    assert_tensor(submission.sample(logits, u, 0.0), expected, **EXACT, what="greedy tokens, no filters")


@check(points=1)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_tiny_temperature_tends_to_argmax(submission, device, dtype):
    # logits / 1e-4 reach 1e4 and more: exp overflows unless the row maximum is subtracted first.
    logits = randn(7, 12, seed=251, device=device, scale=3.0).to(dtype)
    top2 = logits.float().topk(2, dim=-1).values
    assert bool((top2[:, 0] - top2[:, 1] > 0.01).all())  # no near-ties at the top
    u = rand(7, seed=252, dtype=torch.float64, device=device, high=0.999)
    assert_tensor(submission.sample(logits, u, 1e-4), torch.argmax(logits, dim=-1), **EXACT, what="tokens at T = 1e-4")


@check(points=2)
def test_temperature_divides_before_top_p(submission, device):
    # Same logits and u, three temperatures: the nucleus is taken from softmax(logits / T).
    logits = randn(10, 9, seed=261, dtype=torch.float64, device=device, scale=1.5)
    u = rand(10, seed=262, dtype=torch.float64, device=device)
    seen = set()
    for temperature in (0.5, 1.0, 2.0):
        expected = public.sample_oracle(logits, u, temperature, 0, 0.7)
        seen.add(tuple(expected.tolist()))
        assert_tensor(submission.sample(logits, u, temperature, 0, 0.7), expected, **EXACT,
                      what=f"tokens at T = {temperature}, top_p = 0.7")
    assert len(seen) == 3


def first_above(filtered: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF tokens of already filtered logits (float64): the first c_i > u."""
    cdf = torch.cumsum(torch.softmax(filtered.double(), dim=-1), dim=-1)
    return (cdf <= u.double()[:, None]).sum(dim=-1).clamp(max=filtered.shape[-1] - 1)


@check(points=2)
def test_top_p_after_top_k_renormalises(submission, device):
    # Rows where top-p on the full softmax (then intersected with top-k) keeps another set than
    # top-p on the renormalised top-k survivors, and draws other tokens from the same u.
    logits = randn(16, 12, seed=271, dtype=torch.float64, device=device, scale=1.0)
    u = rand(16, seed=272, dtype=torch.float64, device=device)
    k, p = 4, 0.8
    after_k = public.top_k_oracle(logits, k)
    apart = after_k.masked_fill(public.top_p_oracle(logits, p) == NEG_INF, NEG_INF)
    expected = public.sample_oracle(logits, u, 1.0, k, p)
    assert not torch.equal(first_above(apart, u), expected)
    assert_tensor(submission.sample(logits, u, 1.0, k, p), expected, **EXACT, what="tokens with top_k = 4, top_p = 0.8")


@check(points=1)
@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16], ids=["float64", "bfloat16"])
def test_grid_of_uniforms_gives_the_distribution(submission, device, dtype):
    # 4096 evenly spaced u for one row: each token is drawn for a share of u equal to its
    # probability, within the grid's resolution (at most one grid point at each end of its interval).
    # For bfloat16 logits the draw is made in float32: probabilities rounded to bfloat16's 3
    # digits would move the boundaries by several grid points.
    N = 4096
    row = randn(1, 7, seed=281, dtype=torch.float64, device=device, scale=1.5).to(dtype)
    logits = row.repeat(N, 1)
    u = (torch.arange(N, dtype=torch.float64, device=device) + 0.5) / N
    got = submission.sample(logits, u, 0.8, 5, 0.9)
    if type(got) is not torch.Tensor or got.dtype != torch.int64 or got.shape != (N,):
        raise CheckFailure("result is not a (B,) int64 tensor")
    share = torch.bincount(got.cpu(), minlength=7)[:7].double() / N
    probs = torch.diff(public.cdf_oracle(row, 0.8, 5, 0.9)[0].cpu(), prepend=torch.zeros(1, dtype=torch.float64))
    assert_tensor(share, probs, rtol=0, atol=2.0 / N, what="share of the grid given to each token")


@check(points=1)
def test_sample_non_contiguous_and_batch_of_one(submission, device):
    strided = randn(17, 5, seed=291, device=device, scale=2.0).t()  # (5, 17)
    u = rand(5, seed=292, dtype=torch.float64, device=device)
    assert_tensor(submission.sample(strided, u, 0.9, 7, 0.8), public.sample_oracle(strided, u, 0.9, 7, 0.8),
                  **EXACT, what="tokens of a non-contiguous batch")
    one, u1 = randn(1, 33, seed=293, device=device), rand(1, seed=294, dtype=torch.float64, device=device)
    assert_tensor(submission.sample(one, u1, 1.1, 0, 0.95), public.sample_oracle(one, u1, 1.1, 0, 0.95),
                  **EXACT, what="tokens of a batch of one")


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    logits = randn(3, 10, seed=301, device=device)
    u = rand(3, seed=302, dtype=torch.float64, device=device)
    submission.top_k_filter(logits, 4)
    submission.top_p_filter(logits, 0.5)
    submission.sample(logits, u, 0.7, 5, 0.8)
