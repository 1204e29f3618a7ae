"""Public checks for zero1: the worked example, and three steps over four ranks against torch.optim.AdamW."""

import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn

# float32: a handful of roundings per step, which torch orders a little differently.
TOL = dict(rtol=1e-5, atol=1e-6)


def torch_adamw(params, grads_per_step, lr, betas, eps, weight_decay):
    """The oracle: the real torch.optim.AdamW over all parameters; the parameters and its state."""
    ps = [p.detach().clone().requires_grad_(True) for p in params]
    opt = torch.optim.AdamW(ps, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    for grads in grads_per_step:
        for p, g in zip(ps, grads):
            p.grad = g.clone()
        opt.step()
    flat = {k: torch.cat([opt.state[p][k].reshape(-1) for p in ps]) for k in ("exp_avg", "exp_avg_sq")}
    return [p.detach() for p in ps], flat


def shard_sizes(total: int, n: int) -> list[int]:
    return [s.numel() for s in torch.tensor_split(torch.empty(total), n)]


def check_states(states, sizes, flat=None, dtype=torch.float32, device="cpu", tol=TOL):
    """Each rank's state: exactly its shard's moments, equal to AdamW's slice when ``flat`` is given."""
    if type(states) not in (list, tuple) or len(states) != len(sizes):
        raise CheckFailure("the states are not a list of one dict per rank")
    start = 0
    for r, (state, size) in enumerate(zip(states, sizes)):
        if type(state) is not dict or set(state) != {"exp_avg", "exp_avg_sq"}:
            raise CheckFailure(f"the state of rank {r} is not a dict of exp_avg and exp_avg_sq")
        for key in ("exp_avg", "exp_avg_sq"):
            value = state[key]
            if type(value) is torch.Tensor and value.numel() != size:
                raise CheckFailure(f"rank {r} holds {value.numel()} entries of {key}, expected its shard's {size}")
            expected = flat[key][start:start + size] if flat is not None else torch.zeros(size, dtype=dtype,
                                                                                          device=device)
            assert_tensor(value, expected, **tol, what=f"{key} of rank {r}")
        start += size


@check(points=1)
def test_worked_example(submission, device):
    w = torch.tensor([[1.0, -2.0], [0.5, 3.0]], device=device)
    b = torch.tensor([0.0, 1.0, -1.0], device=device)
    gw = torch.tensor([[0.2, -0.5], [1.0, 0.1]], device=device)
    gb = torch.tensor([-0.3, 0.4, 2.0], device=device)
    states = submission.zero1_init([w, b], 3)
    check_states(states, [3, 2, 2], device=device)
    params, states = assert_tuple(submission.zero1_step([w, b], [gw, gb], states, 1, 0.1, 0.9, 0.999, 1e-8, 0.0), 2)
    if type(params) not in (list, tuple) or len(params) != 2:
        raise CheckFailure("the parameters are not a list of one tensor per parameter")
    expected, flat = torch_adamw([w, b], [[gw, gb]], 0.1, (0.9, 0.999), 1e-8, 0.0)
    assert_tensor(params[0], expected[0], **TOL, what="w")
    assert_tensor(params[1], expected[1], **TOL, what="b")
    assert_tensor(params[0], torch.tensor([[0.9, -1.9], [0.4, 2.9]], device=device), **TOL, what="w")
    check_states(states, [3, 2, 2], flat, device=device)


@check(points=1)
def test_three_steps_four_ranks(submission, device):
    shapes = [(3, 5), (4,), (2, 3)]  # P = 25: shards of 7, 6, 6, 6
    params = [randn(*s, seed=10 + i, device=device) for i, s in enumerate(shapes)]
    grads = [[randn(*s, seed=20 + 3 * k + i, device=device) for i, s in enumerate(shapes)] for k in range(3)]
    states = submission.zero1_init(params, 4)
    current = params
    for t, g in enumerate(grads, start=1):
        current, states = assert_tuple(submission.zero1_step(current, g, states, t, 5e-2, 0.9, 0.95, 1e-8, 0.1), 2)
    expected, flat = torch_adamw(params, grads, 5e-2, (0.9, 0.95), 1e-8, 0.1)
    if type(current) not in (list, tuple) or len(current) != 3:
        raise CheckFailure("the parameters are not a list of one tensor per parameter")
    for i, (a, e) in enumerate(zip(current, expected)):
        assert_tensor(a, e, **TOL, what=f"parameter {i} after 3 steps")
    check_states(states, [7, 6, 6, 6], flat, device=device)
