"""Hidden checks for zero1: shard sizes for every remainder, N = 1 and N > P, many steps in both
dtypes, the state's layout, a resumed run, decay and ε, views and 0-d parameters, unchanged inputs."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, rand, randn

DTYPES = [torch.float32, torch.float64]
# float32: a few roundings per step, accumulated over at most ten steps; float64: the same at 1e-16.
TOL = {torch.float32: dict(rtol=2e-5, atol=2e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def shard_sizes(total: int, n: int) -> list[int]:
    """The stated rule: torch.tensor_split's sizes, the first total % n shards one entry larger."""
    return [s.numel() for s in torch.tensor_split(torch.empty(total), n)]


def torch_adamw(params, grads_per_step, lr, betas, eps, weight_decay, moments=None, t0=0):
    """The oracle: torch.optim.AdamW over all parameters, resumed at step t0 from full moments."""
    ps = [p.detach().clone().requires_grad_(True) for p in params]
    opt = torch.optim.AdamW(ps, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    if moments is not None:
        for p, m, v in zip(ps, *moments):
            opt.state[p] = {"step": torch.tensor(float(t0)), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}
    for grads in grads_per_step:
        for p, g in zip(ps, grads):
            p.grad = g.clone()
        opt.step()
    flat = {k: torch.cat([opt.state[p][k].reshape(-1) for p in ps]) for k in ("exp_avg", "exp_avg_sq")}
    return [p.detach() for p in ps], flat


def check_state_sizes(states, sizes, when=""):
    if type(states) not in (list, tuple) or len(states) != len(sizes):
        raise CheckFailure(f"the states are not a list of one dict per rank{when}")
    for r, (state, size) in enumerate(zip(states, sizes)):
        if type(state) is not dict or set(state) != {"exp_avg", "exp_avg_sq"}:
            raise CheckFailure(f"the state of rank {r} is not a dict of exactly exp_avg and exp_avg_sq{when}")
        for key in ("exp_avg", "exp_avg_sq"):
            value = state[key]
            if type(value) is not torch.Tensor or value.dim() != 1:
                raise CheckFailure(f"{key} of rank {r} is not a 1-D tensor{when}")
            if value.numel() != size:
                raise CheckFailure(f"rank {r} holds {value.numel()} entries of {key}, expected its shard's "
                                   f"{size}{when}")


def check_states(states, flat, sizes, tol, when=""):
    check_state_sizes(states, sizes, when)
    start = 0
    for r, size in enumerate(sizes):
        for key in ("exp_avg", "exp_avg_sq"):
            assert_tensor(states[r][key], flat[key][start:start + size], **tol, what=f"{key} of rank {r}{when}")
        start += size


def run(submission, params, grads_per_step, n, lr, betas, eps, weight_decay, states=None, t0=0):
    """Chain the submission's steps as a training loop would, starting from zero1_init's states."""
    states = submission.zero1_init(params, n) if states is None else states
    current = params
    for t, grads in enumerate(grads_per_step, start=t0 + 1):
        current, states = assert_tuple(submission.zero1_step(current, grads, states, t, lr, betas[0], betas[1],
                                                             eps, weight_decay), 2, what=f"result of step {t}")
        if type(current) not in (list, tuple) or len(current) != len(params):
            raise CheckFailure("the parameters are not a list of one tensor per parameter")
    return list(current), states


def compare(got, expected, tol, when=""):
    for i, (a, e) in enumerate(zip(got, expected)):
        assert_tensor(a, e, **tol, what=f"parameter {i}{when}")


def model(shapes, seed, dtype=torch.float32, device="cpu", steps=1, scale=1.0):
    params = [randn(*s, seed=seed + i, dtype=dtype, device=device) for i, s in enumerate(shapes)]
    grads = [[randn(*s, seed=seed + 100 * (k + 1) + i, dtype=dtype, device=device, scale=scale)
              for i, s in enumerate(shapes)] for k in range(steps)]
    return params, grads


SHAPES = [(5, 7), (7,), (3, 2, 4), (1,)]  # P = 67, prime: every N > 1 leaves a remainder


@check(points=2)
def test_init_shard_sizes(submission, device):
    for shapes, n in ((SHAPES, 4), (SHAPES, 5), (SHAPES, 1), ([(2, 3)], 4), ([(3,), (2,)], 8), ([(4, 4)], 16)):
        params = [torch.ones(*s, device=device, dtype=torch.float64) for s in shapes]
        total = sum(p.numel() for p in params)
        states = submission.zero1_init(params, n)
        when = f" (P = {total}, N = {n})"
        check_state_sizes(states, shard_sizes(total, n), when)
        for r, state in enumerate(states):
            for key, value in state.items():
                assert_tensor(value, torch.zeros(value.numel(), dtype=torch.float64, device=device), rtol=0, atol=0,
                              what=f"{key} of rank {r}{when}")


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_ten_steps_match_adamw(submission, device, dtype):
    params, grads = model(SHAPES, 30, dtype, device, steps=10, scale=0.7)
    args = (2e-2, (0.85, 0.98), 1e-8, 0.05)
    got, states = run(submission, params, grads, 4, *args)
    expected, flat = torch_adamw(params, grads, *args)
    compare(got, expected, TOL[dtype], " after 10 steps")
    check_states(states, flat, shard_sizes(67, 4), TOL[dtype], " after 10 steps")


@check(points=2)
def test_state_layout_for_every_world_size(submission, device):
    # The shards cut through parameters at other places for each N: rank r's moments must be the
    # entries o_r ... o_r + size_r - 1 of AdamW's, flattened and concatenated in parameter order.
    params, grads = model(SHAPES, 40, torch.float64, device, steps=2)
    args = (1e-2, (0.9, 0.999), 1e-8, 0.01)
    expected, flat = torch_adamw(params, grads, *args)
    for n in (2, 3, 6, 7):
        got, states = run(submission, params, grads, n, *args)
        compare(got, expected, TOL[torch.float64], f" (N = {n})")
        check_states(states, flat, shard_sizes(67, n), TOL[torch.float64], f" (N = {n})")


@check(points=1)
def test_single_rank_is_adamw(submission, device):
    params, grads = model([(4, 6), (6,)], 50, torch.float64, device, steps=3)
    args = (1e-2, (0.9, 0.99), 1e-8, 0.1)
    got, states = run(submission, params, grads, 1, *args)
    expected, flat = torch_adamw(params, grads, *args)
    compare(got, expected, TOL[torch.float64])
    check_states(states, flat, [30], TOL[torch.float64])


@check(points=1)
def test_more_ranks_than_entries(submission, device):
    # P = 5 over N = 8: ranks 5 to 7 hold empty shards and still take part.
    params, grads = model([(3,), (2,)], 60, torch.float64, device, steps=2)
    args = (1e-2, (0.9, 0.999), 1e-8, 0.0)
    got, states = run(submission, params, grads, 8, *args)
    expected, flat = torch_adamw(params, grads, *args)
    compare(got, expected, TOL[torch.float64])
    check_states(states, flat, shard_sizes(5, 8), TOL[torch.float64])


@check(points=2)
def test_resumes_mid_training(submission, device):
    # Steps 25-26 from saved moments: the bias corrections use this step's t, and each rank's
    # state is read from its own shard.
    dtype = torch.float64
    shapes = [(4, 5), (3,), (2, 2)]  # P = 27 over N = 5: shards of 6, 6, 5, 5, 5
    params, grads = model(shapes, 70, dtype, device, steps=2)
    m = [randn(*s, seed=80 + i, dtype=dtype, device=device, scale=0.1) for i, s in enumerate(shapes)]
    v = [rand(*s, seed=90 + i, dtype=dtype, device=device, low=1e-4, high=2e-2) for i, s in enumerate(shapes)]
    flat_m, flat_v = torch.cat([x.reshape(-1) for x in m]), torch.cat([x.reshape(-1) for x in v])
    states = [{"exp_avg": a.clone(), "exp_avg_sq": b.clone()}
              for a, b in zip(torch.tensor_split(flat_m, 5), torch.tensor_split(flat_v, 5))]
    args = (1e-2, (0.9, 0.99), 1e-8, 0.1)
    got, new_states = run(submission, params, grads, 5, *args, states=states, t0=24)
    expected, flat = torch_adamw(params, grads, *args, moments=(m, v), t0=24)
    compare(got, expected, TOL[dtype], " at steps 25-26")
    check_states(new_states, flat, shard_sizes(27, 5), TOL[dtype], " at steps 25-26")


@check(points=1)
def test_decay_and_eps(submission, device):
    # A strong decay with a large lr (decoupled, scaled by lr), then tiny gradients with a large ε
    # (ε after the bias correction): each variant moves θ far beyond the tolerance.
    dtype = torch.float64
    params, grads = model([(3, 8), (5,)], 110, dtype, device, steps=3, scale=0.1)
    args = (0.1, (0.9, 0.999), 1e-8, 0.5)
    got, _ = run(submission, params, grads, 3, *args)
    compare(got, torch_adamw(params, grads, *args)[0], TOL[dtype], " with a strong decay")
    params, grads = model([(6, 5)], 120, dtype, device, steps=3, scale=1e-4)
    args = (1e-2, (0.9, 0.999), 1e-5, 0.0)
    got, _ = run(submission, params, grads, 4, *args)
    compare(got, torch_adamw(params, grads, *args)[0], TOL[dtype], " with tiny gradients")


@check(points=1)
def test_views_and_zero_dim(submission, device):
    # A 0-d parameter, and transposed (non-contiguous) parameters and gradients.
    dtype = torch.float32
    params = [randn(6, 4, seed=131, dtype=dtype, device=device).t(), randn(1, seed=132, dtype=dtype, device=device)
              .reshape(()), randn(3, 5, seed=133, dtype=dtype, device=device)[:, ::2]]
    grads = [[randn(6, 4, seed=141 + k, dtype=dtype, device=device).t(),
              randn(1, seed=151 + k, dtype=dtype, device=device).reshape(()),
              randn(3, 5, seed=161 + k, dtype=dtype, device=device)[:, ::2]] for k in range(2)]
    args = (1e-2, (0.9, 0.999), 1e-8, 0.01)
    got, states = run(submission, params, grads, 3, *args)
    expected, flat = torch_adamw(params, grads, *args)
    compare(got, expected, TOL[dtype])
    check_states(states, flat, shard_sizes(24 + 1 + 9, 3), TOL[dtype])


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument (the states' tensors included) with what was sent.
    params, grads = model([(4, 3), (5,)], 170, torch.float32, device, steps=1)
    states = [{"exp_avg": randn(n, seed=180 + r, device=device, scale=0.1),
               "exp_avg_sq": rand(n, seed=190 + r, device=device)} for r, n in enumerate(shard_sizes(17, 3))]
    submission.zero1_step(params, grads[0], states, 5, 1e-2, 0.9, 0.999, 1e-8, 0.1)
