"""Public checks for speculative_decoding: the worked example, the law of the first emitted token
(enumerated over a grid of uniforms, exactly), and fixed uniforms against a step-by-step oracle.

The oracle and the enumeration live here so that the hidden checks can reuse them (this file ships
with every release).
"""

import itertools

import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, rand, randn


# Oracles ---------------------------------------------------------------------------------------

def first_above(dist: torch.Tensor, u: float, margin: float) -> int:
    """Inverse CDF of a (V,) float64 distribution: the first index whose cumulative sum exceeds u."""
    cdf = torch.cumsum(dist / dist.sum(), dim=0)
    if margin and bool(((cdf - u).abs() < margin).any()):
        raise AssertionError("check inputs too close to a sampling boundary")  # the check's bug
    above = (cdf > u).nonzero()
    return int(above[0, 0]) if len(above) else int((dist > 0).nonzero()[-1, 0])


def speculative_oracle(draft_tokens, draft_probs, target_probs, u_accept, u_sample, margin: float = 1e-6):
    """The statement's rule, one row and one draft at a time, in float64.

    ``margin``: the check's inputs are asserted to keep every decisive u more than this from its
    boundary (u against p/q, u against the cumulative sums), so that rounding decides nothing.
    0 turns the assertion off (inputs whose boundaries are exact in floating point).
    """
    B, K = draft_tokens.shape
    q, p = draft_probs.double().cpu(), target_probs.double().cpu()
    ua, us, xs = u_accept.double().cpu(), u_sample.double().cpu(), draft_tokens.cpu()
    tokens = torch.full((B, K + 1), -1, dtype=torch.int64)
    n_accepted = torch.zeros(B, dtype=torch.int64)
    for b in range(B):
        n = 0
        while n < K:
            x = int(xs[b, n])
            px, qx, u = float(p[b, n, x]), float(q[b, n, x]), float(ua[b, n])
            if margin and qx > 0 and u > 0 and abs(u - px / qx) < margin:  # u = 0: 0 < p decides exactly
                raise AssertionError("check inputs too close to an acceptance boundary")
            if not (u * qx < px):
                break
            tokens[b, n] = x
            n += 1
        dist = (p[b, n] - q[b, n]).clamp(min=0) if n < K else p[b, K]
        tokens[b, n] = first_above(dist, float(us[b]), margin)
        n_accepted[b] = n
    return tokens.to(draft_tokens.device), n_accepted.to(draft_tokens.device)


def call(submission, *args):
    """Call the submission; check the structure of what comes back; return (tokens, n_accepted)."""
    tokens, n = assert_tuple(submission.speculative_accept(*args), 2)
    B, K = args[0].shape
    for what, t, shape in (("tokens", tokens, (B, K + 1)), ("n_accepted", n, (B,))):
        if type(t) is not torch.Tensor or t.dtype != torch.int64 or tuple(t.shape) != shape:
            got = f"{t.dtype} {tuple(t.shape)}" if type(t) is torch.Tensor else type(t).__qualname__
            raise CheckFailure(f"{what} is not a {shape} int64 tensor", f"got {got}")
    return tokens, n


def compare(submission, args, what: str = "", margin: float = 1e-6) -> None:
    expected_tokens, expected_n = speculative_oracle(*args, margin=margin)
    tokens, n = call(submission, *args)
    assert_tensor(n, expected_n, rtol=0, atol=0, what=f"n_accepted{what}")
    assert_tensor(tokens, expected_tokens, rtol=0, atol=0, what=f"tokens{what}")


def random_case(B, K, V, seed, dtype=torch.float64, device="cpu", sharpness=1.5):
    """Draft and target distributions from softmax of normals; drafts drawn from q on the check's side."""
    q = torch.softmax(randn(B, K, V, seed=seed, dtype=torch.float64, scale=sharpness), dim=-1)
    p = torch.softmax(randn(B, K + 1, V, seed=seed + 1, dtype=torch.float64, scale=sharpness), dim=-1)
    g = torch.Generator().manual_seed(seed + 2)
    x = torch.multinomial(q.reshape(B * K, V), 1, generator=g).reshape(B, K)
    ua = rand(B, K, seed=seed + 3, dtype=torch.float64)
    us = rand(B, seed=seed + 4, dtype=torch.float64)
    return (x.to(device), q.to(dtype).to(device), p.to(dtype).to(device), ua.to(dtype).to(device),
            us.to(dtype).to(device))


# Enumeration -----------------------------------------------------------------------------------

def enumerate_runs(p_of, q_of, V: int, K: int, grid: int, dtype=torch.float64, device="cpu"):
    """Every draft sequence x (weighted by the draft model's probability of it) crossed with every
    grid point of every uniform: u = (i + 1/2) / grid for u_accept[0..K-1] and u_sample.

    ``p_of(prefix)``/``q_of(prefix)``: the (V,) float64 distributions after the tuple ``prefix``.
    Returns the call's arguments and the (R,) float64 weight of each row (they sum to 1).
    """
    u = (torch.arange(grid, dtype=torch.float64) + 0.5) / grid
    u_grid = torch.cartesian_prod(*([u] * (K + 1))).reshape(-1, K + 1)  # (grid^(K+1), K+1)
    xs, qs, ps, ws = [], [], [], []
    for x in itertools.product(range(V), repeat=K):
        q = torch.stack([q_of(x[:i]) for i in range(K)])  # (K, V)
        p = torch.stack([p_of(x[:i]) for i in range(K + 1)])  # (K + 1, V)
        w = float(torch.prod(q[torch.arange(K), torch.tensor(x)]))
        xs.append(torch.tensor(x)), qs.append(q), ps.append(p), ws.append(w)
    G = len(u_grid)
    x = torch.stack(xs).repeat_interleave(G, dim=0)
    q = torch.stack(qs).repeat_interleave(G, dim=0)
    p = torch.stack(ps).repeat_interleave(G, dim=0)
    weight = torch.tensor(ws, dtype=torch.float64).repeat_interleave(G) / G
    uu = u_grid.repeat(len(xs), 1)
    args = (x, q, p, uu[:, :K].contiguous(), uu[:, K].contiguous())
    return tuple(a.to(dtype).to(device) if a.is_floating_point() else a.to(device) for a in args), weight


def check_law(tokens, n, weight, p_of, q_of, V: int, K: int, atol: float) -> None:
    """At every position j and after every emitted prefix, token j is distributed as p_j(.|prefix),
    and the next draft is accepted with probability sum_c min(p_j(c), q_j(c)) (for j < K)."""
    tokens, n = tokens.cpu(), n.cpu()
    for j in range(K + 1):
        for prefix in itertools.product(range(V), repeat=j):
            reached = n >= j
            for i, t in enumerate(prefix):
                reached &= tokens[:, i] == t
            mass = float(weight[reached].sum())
            if mass < 1e-9:
                continue
            law = torch.stack([weight[reached & (tokens[:, j] == c)].sum() for c in range(V)]) / mass
            where = f"token {j} after {list(prefix)}" if j else "the first token"
            assert_tensor(law, p_of(prefix), rtol=0, atol=atol, what=f"the distribution of {where}")
            if j < K:
                accepted = float(weight[reached & (n > j)].sum()) / mass
                expected = float(torch.minimum(p_of(prefix), q_of(prefix)).sum())
                if abs(accepted - expected) > atol:
                    raise CheckFailure(f"the acceptance rate of draft {j} after {list(prefix)} is wrong",
                                       f"got {accepted:.6g}, expected sum(min(p, q)) = {expected:.6g}")


# Dyadic distributions: every ratio p/q, every residual and every cumulative sum is a multiple
# of 1/8, so a grid of midpoints gives the law exactly (float arithmetic on them is exact).
P_DYADIC = torch.tensor([3 / 8, 3 / 8, 1 / 8, 1 / 8], dtype=torch.float64)
Q_DYADIC = torch.tensor([1 / 2, 1 / 4, 1 / 4, 0.0], dtype=torch.float64)


# Checks ----------------------------------------------------------------------------------------

@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([[0, 1]], device=device)
    q = torch.tensor([[[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]]], device=device)
    p = torch.tensor([[[0.4, 0.4, 0.2], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1]]], device=device)
    u_sample = torch.tensor([0.8], device=device)
    tokens, n = call(submission, x, q, p, torch.tensor([[0.5, 0.7]], device=device), u_sample)
    assert_tensor(n, torch.tensor([1], device=device), rtol=0, atol=0, what="n_accepted (second draft rejected)")
    assert_tensor(tokens, torch.tensor([[0, 2, -1]], device=device), rtol=0, atol=0,
                  what="tokens (second draft rejected)")
    tokens, n = call(submission, x, q, p, torch.tensor([[0.5, 0.3]], device=device), u_sample)
    assert_tensor(n, torch.tensor([2], device=device), rtol=0, atol=0, what="n_accepted (both drafts accepted)")
    assert_tensor(tokens, torch.tensor([[0, 1, 1]], device=device), rtol=0, atol=0,
                  what="tokens (both drafts accepted)")


@check(points=2)
def test_one_draft_follows_the_target(submission, device):
    # One draft over 4 tokens: every draft token weighted by q, a 16-point grid for each uniform.
    # The first emitted token must be distributed as p_0 exactly, the draft accepted with
    # probability sum(min(p_0, q_0)), and the bonus token after it distributed as p_1.
    def p_of(prefix):
        return P_DYADIC if not prefix else P_DYADIC.roll(1 + prefix[0])

    def q_of(prefix):
        return Q_DYADIC
    args, weight = enumerate_runs(p_of, q_of, V=4, K=1, grid=16, device=device)
    tokens, n = call(submission, *args)
    check_law(tokens, n, weight, p_of, q_of, V=4, K=1, atol=1e-12)  # exact up to float64 summation


@check(points=1)
def test_fixed_uniforms(submission, device):
    compare(submission, random_case(6, 3, 7, seed=11, device=device))
