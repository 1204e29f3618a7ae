"""Hidden checks for moe_router: priority order, capacity, drops, weights, the aux loss, k = 1 and
k = E, large logits, shapes, strides, dtypes, unchanged inputs."""

import math

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn

NAMES = ("expert", "slot", "combine", "dropped", "aux")
DTYPES = [torch.float32, torch.float64]
# combine is p / (sum of k p's) and aux a sum of E products of means over N tokens: float32 within
# a few ulps (1e-5 relative), float64 within 1e-12. Indices, slots and drops exactly.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-7), torch.float64: dict(rtol=1e-12, atol=1e-15)}


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


def brute_force(logits, k, capacity_factor):
    """Token by token in Python, as one would route by hand (small inputs only)."""
    N, E = logits.shape
    C = math.ceil(capacity_factor * N * k / E)
    p = torch.softmax(logits.to(torch.float64), dim=-1).tolist()
    expert = [sorted(range(E), key=lambda i: -row[i])[:k] for row in p]
    fill = [0] * E
    slot = [[-1] * k for _ in range(N)]
    for j in range(k):  # first choices of every token, then second choices, ...
        for n in range(N):
            e = expert[n][j]
            if fill[e] < C:
                slot[n][j] = fill[e]
            fill[e] += 1
    combine = [[p[n][e] / sum(p[n][x] for x in expert[n]) if slot[n][j] >= 0 else 0.0
                for j, e in enumerate(expert[n])] for n in range(N)]
    f = [sum(i in expert[n] for n in range(N)) / N for i in range(E)]
    P = [sum(p[n][i] for n in range(N)) / N for i in range(E)]
    aux = E * sum(fi * Pi for fi, Pi in zip(f, P))
    dev, dt = logits.device, logits.dtype
    return (torch.tensor(expert, device=dev), torch.tensor(slot, device=dev), torch.tensor(combine, dtype=dt, device=dev),
            torch.tensor(slot, device=dev) < 0, torch.tensor(aux, dtype=dt, device=dev))


def compare(got, expected, tol, what=""):
    got = assert_tuple(got, 5, what=f"result{what}")
    for name, a, e in zip(NAMES, got, expected):
        assert_tensor(a, e, **tol, what=f"{name}{what}")


def skewed(N, E, seed, dtype, device, scale=1.5):
    """Logits with a popular expert or two, so that buffers overflow."""
    bias = torch.linspace(2.0, 0.0, E, dtype=torch.float64)[torch.randperm(E, generator=torch.Generator().manual_seed(seed))]
    return (randn(N, E, seed=seed, dtype=torch.float64, scale=scale) + bias).to(dtype).to(device)


def require_drops(expected, least=1):
    if int(expected[3].sum()) < least:
        raise CheckFailure("the check's own input drops nothing")  # a guard on the check itself


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_matches_reference(submission, device, dtype):
    # 37 tokens, 8 experts, top-2, capacity ceil(1.0 · 37 · 2 / 8) = 10: some buffers overflow.
    logits = skewed(37, 8, 201, dtype, device)
    expected = reference(logits, 2, 1.0)
    require_drops(expected)
    compare(submission.moe_route(logits, 2, 1.0), expected, TOL[dtype])


@check(points=2)
def test_small_cases_by_hand(submission, device):
    # (N, E, k, capacity_factor), routed token by token in Python.
    for i, (N, E, k, cf) in enumerate([(6, 3, 2, 1.0), (9, 4, 1, 1.0), (7, 5, 3, 0.75), (5, 2, 2, 1.0), (8, 6, 2, 0.5)]):
        logits = skewed(N, E, 210 + i, torch.float64, device)
        compare(submission.moe_route(logits, k, cf), brute_force(logits, k, cf), TOL[torch.float64],
                what=f" for N={N}, E={E}, k={k}, capacity_factor={cf}")


@check(points=2)
def test_first_choices_have_priority(submission, device):
    # Expert 0 is everybody's first or second choice: with first choices served first, the early
    # tokens' second choices are the ones dropped, not the late tokens' first choices.
    N, E = 12, 4
    logits = randn(N, E, seed=221, dtype=torch.float64, device=device, scale=0.3)
    first = torch.arange(N, device=device) % 2 == 1  # odd tokens: expert 0 first; even: second
    logits[:, 0] += torch.where(first, 3.0, 0.0).to(logits.dtype)
    logits[~first, 1] += 4.0
    logits[~first, 0] += 2.0
    expected = reference(logits, 2, 1.0)  # C = ceil(12 · 2 / 4) = 6: 12 assignments to expert 0
    require_drops(expected, least=6)
    compare(submission.moe_route(logits, 2, 1.0), expected, TOL[torch.float64])


@check(points=1)
def test_capacity_is_a_ceiling(submission, device):
    # ceil(1.25 · 10 · 2 / 4) = 7 (floor and round give 6); ceil(1.0 · 10 · 2 / 4) = 5 exactly.
    logits = skewed(10, 4, 231, torch.float64, device, scale=0.5)
    for cf in (1.25, 1.0):
        expected = reference(logits, 2, cf)
        require_drops(expected)
        compare(submission.moe_route(logits, 2, cf), expected, TOL[torch.float64], what=f" for capacity_factor={cf}")


@check(points=1)
def test_top1_switch_routing(submission, device):
    # k = 1: one expert per token, weight 1 unless dropped; the loss is Switch Transformer's.
    logits = skewed(23, 6, 241, torch.float32, device)
    expected = reference(logits, 1, 1.0)
    require_drops(expected)
    compare(submission.moe_route(logits, 1, 1.0), expected, TOL[torch.float32])


@check(points=1)
def test_every_expert_chosen(submission, device):
    # k = E: every token goes everywhere, the weights are p itself (in decreasing order), f = 1.
    logits = randn(9, 3, seed=251, dtype=torch.float64, device=device)
    compare(submission.moe_route(logits, 3, 1.0), reference(logits, 3, 1.0), TOL[torch.float64])


@check(points=1)
def test_large_capacity_drops_nothing(submission, device):
    logits = skewed(15, 5, 261, torch.float64, device)
    expected = reference(logits, 2, 2.5)  # C = 15: no expert can overflow
    compare(submission.moe_route(logits, 2, 2.5), expected, TOL[torch.float64])


@check(points=1)
def test_tiny_capacity(submission, device):
    # ceil(0.25 · 8 · 1 / 4) = 1: one seat per expert, the first token to ask gets it.
    logits = skewed(8, 4, 271, torch.float64, device)
    expected = reference(logits, 1, 0.25)
    require_drops(expected, least=3)
    compare(submission.moe_route(logits, 1, 0.25), expected, TOL[torch.float64])


@check(points=1)
def test_balanced_routing_loss_is_k(submission, device):
    # Rows are cyclic shifts of one vector: every expert gets the same share and the same mean
    # probability, so f_i = k / E, P_i = 1 / E and aux = k exactly (up to rounding).
    E, k = 6, 2
    base = torch.tensor([3.0, 1.5, 0.5, 0.0, -1.0, -2.0], dtype=torch.float64)
    logits = torch.stack([base.roll(n) for n in range(2 * E)]).to(device)
    got = assert_tuple(submission.moe_route(logits, k, 1.0), 5)
    assert_tensor(got[4], torch.tensor(float(k), dtype=torch.float64, device=device), rtol=1e-12, atol=0, what="aux")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_large_logits(submission, device, dtype):
    # Logits around 1000 (float32 keeps them to ~6e-5): exp overflows unless the maximum is
    # subtracted first. The routing is that of the same logits, done stably.
    logits = skewed(20, 5, 281, dtype, device, scale=5.0) + 1000.0
    expected = reference(logits, 2, 1.0)
    compare(submission.moe_route(logits, 2, 1.0), expected, TOL[dtype])


@check(points=1)
def test_one_token(submission, device):
    # N = 1: C = ceil(cf · k / E) = 1, nothing dropped, f is one-hot over the chosen experts.
    logits = randn(1, 7, seed=291, device=device)
    compare(submission.moe_route(logits, 2, 1.0), reference(logits, 2, 1.0), TOL[torch.float32])


@check(points=1)
def test_non_contiguous_logits(submission, device):
    logits = skewed(11, 16, 301, torch.float32, device).t()  # 16 tokens, 11 experts, a transposed view
    assert not logits.is_contiguous()
    expected = reference(logits, 2, 1.0)
    compare(submission.moe_route(logits, 2, 1.0), expected, TOL[torch.float32])


@check(points=1)
def test_input_not_modified(submission, device):
    # The proxy compares the logits after the call with what was sent.
    submission.moe_route(randn(10, 4, seed=311, device=device), 2, 1.0)
