"""Hidden checks for speculative_decoding: the law of two drafts and the bonus (exact), random
laws on a fine grid, fixed uniforms on every edge (all accepted, first rejected, p == q, q zero
where p is not, p zero, u = 0), dtypes, strided inputs, a batch of one."""

import importlib.util
from pathlib import Path

import pytest
import torch

from grader.checks import assert_tensor, check, rand

_spec = importlib.util.spec_from_file_location("speculative_public_checks",
                                               Path(__file__).with_name("test_public.py"))
public = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public)

DTYPES = [torch.float32, torch.float64]
# The oracle asserts that every decisive uniform lies this far from its boundary: float32
# probabilities carry ~1e-7 relative error, float64 ones ~1e-16. Tokens are then compared exactly.
MARGIN = {torch.float32: 1e-5, torch.float64: 1e-6}


def roll_by_prefix(base: torch.Tensor):
    """A distribution that depends on the whole prefix: base rolled by a hash of it."""
    return lambda prefix: base.roll((3 * sum(prefix) + len(prefix) + (prefix[0] if prefix else 0)) % len(base))


@check(points=3)
def test_two_drafts_follow_the_target(submission, device):
    # K = 2 over 4 tokens, draft and target distributions that depend on the prefix: token 0
    # follows p_0, token 1 after an accepted first draft follows p_1(.|x_0), the bonus after two
    # accepted drafts follows p_2(.|x_0, x_1), each acceptance rate is sum(min(p, q)). Dyadic
    # values and an 8-point grid for each uniform: exact up to float64 summation.
    p_of, q_of = roll_by_prefix(public.P_DYADIC), roll_by_prefix(public.Q_DYADIC)
    args, weight = public.enumerate_runs(p_of, q_of, V=4, K=2, grid=8, device=device)
    tokens, n = public.call(submission, *args)
    public.check_law(tokens, n, weight, p_of, q_of, V=4, K=2, atol=1e-12)


@check(points=2)
def test_random_distributions_follow_the_target(submission, device):
    # Non-dyadic p and q (softmax of normals, one of them zero somewhere) on a 128-point grid per
    # uniform: each probability is matched within the grid's resolution, 2/128 at worst.
    gen = torch.Generator().manual_seed(41)
    p0, p1 = torch.softmax(torch.randn(2, 5, generator=gen, dtype=torch.float64) * 1.5, dim=-1)
    q0 = torch.softmax(torch.randn(5, generator=gen, dtype=torch.float64) * 1.5, dim=-1)
    q0[3] = 0.0
    q0 = q0 / q0.sum()

    def p_of(prefix):
        return p0 if not prefix else p1.roll(prefix[0])

    def q_of(prefix):
        return q0
    args, weight = public.enumerate_runs(p_of, q_of, V=5, K=1, grid=128, device=device)
    tokens, n = public.call(submission, *args)
    public.check_law(tokens, n, weight, p_of, q_of, V=5, K=1, atol=2.0 / 128)


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_fixed_uniforms_match_oracle(submission, device, dtype):
    public.compare(submission, public.random_case(40, 5, 50, seed=51, dtype=dtype, device=device),
                   margin=MARGIN[dtype])


@check(points=1)
def test_all_drafts_accepted_then_bonus(submission, device):
    # u_accept = 0 accepts every draft of positive target probability: n = K and the bonus token
    # comes from the target's distribution after the last draft (position K, not K - 1).
    x, q, p, _, us = public.random_case(8, 4, 9, seed=61, device=device)
    ua = torch.zeros(8, 4, dtype=torch.float64, device=device)
    public.compare(submission, (x, q, p, ua, us), what=" when every draft is accepted")
    tokens, n = public.call(submission, x, q, p, ua, us)
    assert_tensor(n, torch.full((8,), 4, device=device), rtol=0, atol=0, what="n_accepted when every draft is accepted")


@check(points=1)
def test_first_draft_rejected(submission, device):
    # The first draft has a tiny target probability: rejected, the residual of position 0 drawn,
    # and the later drafts discarded although each of them would pass on its own.
    x, q, p, ua, us = public.random_case(6, 3, 8, seed=71, device=device)
    rows = torch.arange(6, device=device)
    p = p.clone()
    p[rows, 0, x[:, 0]] = 1e-3 * q[rows, 0, x[:, 0]]
    p[:, 0] = p[:, 0] / p[:, 0].sum(dim=-1, keepdim=True)
    ua = ua.clone()
    ua[:, 0] = 0.5
    ua[:, 1:] = 0.0  # would accept
    public.compare(submission, (x, q, p, ua, us), what=" when the first draft is rejected")
    _, n = public.call(submission, x, q, p, ua, us)
    assert_tensor(n, torch.zeros(6, dtype=torch.int64, device=device), rtol=0, atol=0, what="n_accepted")


@check(points=1)
def test_later_drafts_are_discarded_after_a_rejection(submission, device):
    # Row by row the rejection moves: at draft 0, 1, 2 or none; drafts after it pass on their own.
    x, q, p, _, us = public.random_case(4, 3, 6, seed=81, device=device)
    ratio = p[:, :3].gather(-1, x[..., None])[..., 0] / q.gather(-1, x[..., None])[..., 0]
    ua = (ratio.clamp(max=1.0) * 0.5).clone()  # passes
    for b in range(3):
        if ratio[b, b] < 0.9:
            ua[b, b] = (ratio[b, b] + 1.0) / 2  # fails: between p/q and 1
    public.compare(submission, (x, q, p, ua, us), what=" when a middle draft is rejected")


@check(points=1)
def test_p_equals_q_accepts_everything(submission, device):
    # Identical models: p/q = 1 > u for every draft, so every draft is accepted, whatever u.
    x, q, p, ua, us = public.random_case(7, 4, 10, seed=91, device=device)
    p = torch.cat((q, p[:, -1:]), dim=1)  # p_i = q_i for the drafts; p_K stays the target's own
    ua = ua * 0.99
    public.compare(submission, (x, q, p, ua, us), what=" when p == q")
    _, n = public.call(submission, x, q, p, ua, us)
    assert_tensor(n, torch.full((7,), 4, device=device), rtol=0, atol=0, what="n_accepted when p == q")


@check(points=2)
def test_q_zero_where_p_is_not(submission, device):
    # The draft never proposes tokens 3..5, the target likes them: after a rejection the residual
    # max(0, p - q) is exactly the target's mass there, renormalised.
    x, q, p, ua, us = public.random_case(10, 2, 6, seed=101, device=device)
    q = q.clone()
    q[..., 3:] = 0.0
    q = q / q.sum(dim=-1, keepdim=True)
    g = torch.Generator().manual_seed(102)
    x = torch.multinomial(q.reshape(-1, 6).cpu(), 1, generator=g).reshape(10, 2).to(device)
    p = p.clone()
    p[..., 3:] *= 4.0
    p = p / p.sum(dim=-1, keepdim=True)
    ua = torch.full_like(ua, 0.97)  # most drafts rejected
    args = (x, q, p, ua, us)
    public.compare(submission, args, what=" when q is zero where p is not")
    tokens, n = public.call(submission, *args)
    drawn = tokens.gather(1, n[:, None])[:, 0]
    assert bool((drawn[n < 2] >= 3).any())


@check(points=1)
def test_target_zero_is_never_accepted(submission, device):
    # p(x) = 0: u * q(x) < 0 is false even for u = 0 (strictly less than: the draft is rejected).
    x = torch.tensor([[0, 1], [2, 2]], device=device)
    q = torch.tensor([[[0.6, 0.2, 0.2], [0.3, 0.4, 0.3]], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]],
                     dtype=torch.float64, device=device)
    p = torch.tensor([[[0.0, 0.5, 0.5], [0.3, 0.3, 0.4], [0.2, 0.2, 0.6]],
                      [[0.3, 0.7, 0.0], [0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]], dtype=torch.float64, device=device)
    ua = torch.zeros(2, 2, dtype=torch.float64, device=device)
    us = torch.tensor([0.3, 0.6], dtype=torch.float64, device=device)
    public.compare(submission, (x, q, p, ua, us), what=" when the target gives a draft probability 0")


@check(points=1)
def test_u_sample_zero_draws_first_possible_token(submission, device):
    # c_j > 0, strictly: u = 0 draws the first token of positive residual, not token 0.
    x = torch.tensor([[0], [1], [0]], device=device)
    q = torch.tensor([[[0.7, 0.1, 0.1, 0.1]], [[0.1, 0.6, 0.2, 0.1]], [[0.5, 0.5, 0.0, 0.0]]],
                     dtype=torch.float64, device=device)
    p = torch.tensor([[[0.1, 0.1, 0.4, 0.4], [0.25] * 4], [[0.1, 0.2, 0.2, 0.5], [0.25] * 4],
                      [[0.0, 0.5, 0.5, 0.0], [0.0, 0.0, 0.3, 0.7]]], dtype=torch.float64, device=device)
    ua = torch.tensor([[0.9], [0.9], [0.0]], dtype=torch.float64, device=device)  # reject, reject, reject (p(x) = 0)
    us = torch.zeros(3, dtype=torch.float64, device=device)
    expected = torch.tensor([[2, -1], [3, -1], [2, -1]], device=device)  # residuals [0, 0, .3, .3], [0, 0, 0, .4], [0, 0, .5, 0]
    tokens, n = public.call(submission, x, q, p, ua, us)
    assert_tensor(n, torch.zeros(3, dtype=torch.int64, device=device), rtol=0, atol=0, what="n_accepted")
    assert_tensor(tokens, expected, rtol=0, atol=0, what="tokens drawn with u_sample = 0")
    ua = torch.zeros(3, 1, dtype=torch.float64, device=device)  # rows 0 and 1 now accepted: bonus at u = 0
    expected = torch.tensor([[0, 0], [1, 0], [2, -1]], device=device)
    tokens, n = public.call(submission, x, q, p, ua, us)
    assert_tensor(tokens, expected, rtol=0, atol=0, what="bonus tokens drawn with u_sample = 0")


@check(points=1)
def test_u_sample_near_one_draws_last_possible_token(submission, device):
    # u_sample within rounding of 1 (float32 probabilities: 1 - 1e-9 is 1 to them): the last token
    # of non-zero probability, never a token of residual (or bonus probability) 0 after it. Row 0
    # rejects into the residual [0, .3, 0, 0], row 1 accepts and draws the bonus
    # from [.5, .5, 0, 0].
    dtype = torch.float32
    x = torch.tensor([[0], [1]], device=device)
    q = torch.tensor([[[0.8, 0.1, 0.05, 0.05]], [[0.3, 0.5, 0.1, 0.1]]], dtype=dtype, device=device)
    p = torch.tensor([[[0.5, 0.4, 0.05, 0.05], [0.25] * 4], [[0.2, 0.6, 0.1, 0.1], [0.5, 0.5, 0.0, 0.0]]],
                     dtype=dtype, device=device)
    ua = torch.tensor([[0.9], [0.5]], dtype=torch.float64, device=device)
    expected = torch.tensor([[1, -1], [1, 1]], device=device)
    for u in (1 - 1e-12, 1 - 1e-9):
        us = torch.full((2,), u, dtype=torch.float64, device=device)
        tokens, _ = public.call(submission, x, q, p, ua, us)
        assert_tensor(tokens, expected, rtol=0, atol=0, what="tokens drawn with u_sample close to 1")


@check(points=1)
def test_float32_uniforms_with_float64_probabilities(submission, device):
    x, q, p, ua, us = public.random_case(12, 3, 20, seed=111, device=device)
    public.compare(submission, (x, q, p, ua.float(), us.float()), what=" for float32 uniforms", margin=1e-5)


@check(points=1)
def test_non_contiguous_inputs(submission, device):
    x, q, p, ua, us = public.random_case(5, 3, 11, seed=121, device=device)
    q_t = q.transpose(1, 2).contiguous().transpose(1, 2)  # (B, K, V) stored as (B, V, K)
    p_t = p.transpose(0, 1).contiguous().transpose(0, 1)
    x_t, ua_t = x.t().contiguous().t(), ua.t().contiguous().t()
    assert not (q_t.is_contiguous() or p_t.is_contiguous() or x_t.is_contiguous() or ua_t.is_contiguous())
    public.compare(submission, (x_t, q_t, p_t, ua_t, us), what=" of strided inputs")


@check(points=1)
def test_batch_of_one_and_one_draft(submission, device):
    public.compare(submission, public.random_case(1, 6, 13, seed=131, device=device), what=" for a batch of one")
    public.compare(submission, public.random_case(9, 1, 4, seed=132, device=device), what=" for one draft")


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    public.call(submission, *public.random_case(3, 2, 5, seed=141, device=device))
