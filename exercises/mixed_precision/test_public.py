"""Public checks for mixed_precision: the worked example, and steps against torch.amp.GradScaler + SGD."""

import contextlib
import math

import torch

from grader.checks import CheckFailure, assert_scalar, assert_tensor, assert_tuple, check, randn

KEYS = ("scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker")
NAMES = ("W1", "b1", "W2", "b2")
# float32 SGD steps: torch's param.add_(buf, alpha=-lr) rounds once (a fused multiply-add), p - lr * buf
# twice, and unscaling by g * (1/S) or g / S differs by an ulp when S is not a power of two. A few
# ulps per step, over at most 15 steps: 1e-5 relative, 1e-6 absolute (parameters are of order 1).
TOL = dict(rtol=1e-5, atol=1e-6)


# Oracles ---------------------------------------------------------------------------------------

def mlp_loss(weights, x, y):
    """The model of the stub's mlp_loss, the same operations in the same order."""
    h = torch.relu(x @ weights["W1"].T + weights["b1"])
    out = h @ weights["W2"].T + weights["b2"]
    return torch.nn.functional.mse_loss(out.float(), y)


@contextlib.contextmanager
def one_thread():
    """The worker computes on one thread: so does the oracle, so that the half-precision backward
    rounds (and overflows) exactly where the submission's does."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def make_scaler(state: dict, device) -> torch.amp.GradScaler:
    scaler = torch.amp.GradScaler(torch.device(device).type, init_scale=state["scale"], growth_factor=state["growth_factor"],
                                  backoff_factor=state["backoff_factor"], growth_interval=state["growth_interval"])
    scaler.load_state_dict(dict(state))
    return scaler


def buffers_of(opt, params):
    """SGD's momentum buffers; zeros for a parameter that has not had a step yet."""
    return [opt.state[p]["momentum_buffer"].clone() if opt.state[p].get("momentum_buffer") is not None
            else torch.zeros_like(p) for p in params]


def torch_scaler_run(params, grads_per_step, state, lr, momentum):
    """GradScaler + torch.optim.SGD fed the given scaled gradients: one record per step,
    (params, bufs, scaler state, found_inf), each taken after that step."""
    ps = [p.detach().clone().requires_grad_() for p in params]
    opt = torch.optim.SGD(ps, lr=lr, momentum=momentum)
    scaler = make_scaler(state, ps[0].device)
    records = []
    for grads in grads_per_step:
        scaler.scale(torch.zeros((), device=ps[0].device))  # starts the scaler's lazy state
        for p, g in zip(ps, grads):
            p.grad = g.clone()
        found = any(not bool(torch.isfinite(g).all()) for g in grads)
        scaler.step(opt)
        scaler.update()
        records.append(([p.detach().clone() for p in ps], buffers_of(opt, ps), scaler.state_dict(), found))
    return records


def torch_amp_run(master, bufs, state, batches, lr, momentum):
    """The real thing for train_step: fp32 master weights in torch.optim.SGD, a half-precision
    forward, scaler.scale(loss).backward(), scaler.step, scaler.update. One record per step:
    (master, bufs, state before it; master, bufs, state after it; loss; found_inf)."""
    with one_thread():
        params = {n: master[n].detach().clone().requires_grad_() for n in NAMES}
        plist = [params[n] for n in NAMES]
        opt = torch.optim.SGD(plist, lr=lr, momentum=momentum)
        for n in NAMES:
            if bool(bufs[n].ne(0).any()):
                opt.state[params[n]]["momentum_buffer"] = bufs[n].clone()
        scaler = make_scaler(state, plist[0].device)
        records = []
        for x, y in batches:
            before = ({n: p.detach().clone() for n, p in params.items()},
                      dict(zip(NAMES, buffers_of(opt, plist))), scaler.state_dict())
            opt.zero_grad(set_to_none=True)
            loss = mlp_loss({n: p.to(x.dtype) for n, p in params.items()}, x, y)
            scaler.scale(loss).backward()
            found = any(not bool(torch.isfinite(p.grad).all()) for p in plist)
            scaler.step(opt)
            scaler.update()
            after = ({n: p.detach().clone() for n, p in params.items()},
                     dict(zip(NAMES, buffers_of(opt, plist))), scaler.state_dict())
            records.append((before, after, loss.detach(), found))
    return records


# Comparisons -----------------------------------------------------------------------------------

def compare_state(got: object, expected: dict, what: str = "scaler") -> None:
    if type(got) is not dict or set(got) != set(KEYS):
        keys = sorted(map(str, got)) if type(got) is dict else type(got).__qualname__
        raise CheckFailure(f"{what} is not a dict with the keys of GradScaler.state_dict()", f"got {keys}")
    if type(got["_growth_tracker"]) is not int:
        raise CheckFailure(f"{what}['_growth_tracker'] is not an int",
                           f"got {type(got['_growth_tracker']).__qualname__}")
    if type(got["growth_interval"]) is not int or got["growth_interval"] != expected["growth_interval"]:
        raise CheckFailure(f"{what}['growth_interval'] changed")
    for key in ("growth_factor", "backoff_factor"):
        assert_scalar(got[key], expected[key], rtol=0, atol=0, what=f"{what}[{key!r}]")
    # The scale is a float32 number: one rounding of S · factor to float32 (1.2e-7 relative).
    assert_scalar(got["scale"], expected["scale"], rtol=1e-6, atol=0, what=f"{what}['scale']")
    if got["_growth_tracker"] != expected["_growth_tracker"]:
        raise CheckFailure(f"{what}['_growth_tracker'] has the wrong value",
                           f"got {got['_growth_tracker']}, expected {expected['_growth_tracker']}")


def compare_found(got: object, expected: bool, when: str = "") -> None:
    if type(got) is not bool:
        raise CheckFailure("found_inf is not a bool", f"got {type(got).__qualname__}")
    if got != expected:
        raise CheckFailure(f"found_inf is wrong{when}",
                           f"got {got}, expected {expected} ({'skip' if expected else 'take'} the step)")


def compare_tensors(got: object, expected: list, what: str, tol: dict = TOL) -> None:
    if type(got) is not list or len(got) != len(expected):
        raise CheckFailure(f"{what} is not a list of {len(expected)} tensors")
    for i, (a, e) in enumerate(zip(got, expected)):
        assert_tensor(a, e, **tol, what=f"{what}[{i}]")


def scaler_run(submission, params, grads_per_step, state, lr, momentum):
    """Chain the submission's scaler_step as a training loop would: its outputs are the next inputs."""
    p, bufs = list(params), [torch.zeros_like(t) for t in params]
    out = []
    for t, grads in enumerate(grads_per_step, start=1):
        p, bufs, state, found = assert_tuple(submission.scaler_step(p, grads, bufs, state, lr, momentum), 4,
                                             what=f"result of step {t}")
        out.append((p, bufs, state, found))
    return out


def compare_scaler_run(got, expected, tol: dict = TOL, compare_bufs: bool = True) -> None:
    for t, ((p, b, s, f), (ep, eb, es, ef)) in enumerate(zip(got, expected), start=1):
        when = f" at step {t}"
        compare_found(f, ef, when)
        compare_state(s, es, what=f"scaler after step {t}")
        compare_tensors(p, ep, f"params after step {t}", tol)
        if compare_bufs:
            compare_tensors(b, eb, f"bufs after step {t}", tol)


def scaler_state(scale: float, interval: int, tracker: int = 0, growth: float = 2.0, backoff: float = 0.5) -> dict:
    return {"scale": scale, "growth_factor": growth, "backoff_factor": backoff, "growth_interval": interval,
            "_growth_tracker": tracker}


def tiny_model(d_in, d_hidden, d_out, seed, device, scale=1.0):
    """Seeded fp32 master weights, scaled like an initialised layer (≈ 1/√fan_in)."""
    return {"W1": randn(d_hidden, d_in, seed=seed, device=device, scale=scale / math.sqrt(d_in)),
            "b1": randn(d_hidden, seed=seed + 1, device=device, scale=0.1),
            "W2": randn(d_out, d_hidden, seed=seed + 2, device=device, scale=scale / math.sqrt(d_hidden)),
            "b2": randn(d_out, seed=seed + 3, device=device, scale=0.1)}


def compare_train_step(got, record, when: str = "", tol: dict = TOL) -> None:
    """One train_step result against the oracle's record of the same step."""
    _, (e_master, e_bufs, e_state), e_loss, e_found = record
    master, bufs, state, loss, found = assert_tuple(got, 5, what=f"result{when}")
    for what, d, e in (("master", master, e_master), ("bufs", bufs, e_bufs)):
        if type(d) is not dict or set(d) != set(NAMES):
            raise CheckFailure(f"{what}{when} is not a dict with the keys W1, b1, W2, b2")
    # The same half-precision operations in the same order as the oracle: the loss is bit for bit
    # torch's (1e-6 leaves an ulp of room); a float32 forward differs by ~1e-3.
    assert_tensor(loss, e_loss, rtol=1e-6, atol=0, what=f"loss{when}", equal_nan=True)
    compare_found(found, e_found, when)
    compare_state(state, e_state, what=f"scaler{when}")
    for n in NAMES:
        assert_tensor(master[n], e_master[n], **tol, what=f"master[{n!r}]{when}")
        assert_tensor(bufs[n], e_bufs[n], **tol, what=f"bufs[{n!r}]{when}")


def train_teacher_forced(submission, records, batches, lr, momentum, tol: dict = TOL) -> None:
    """Each step from the oracle's state before it: a difference shows at the step that makes it,
    and an ulp of rounding cannot grow into a different half-precision cast later."""
    for t, (record, (x, y)) in enumerate(zip(records, batches), start=1):
        master, bufs, state = record[0]
        got = submission.train_step(master, bufs, state, x, y, lr, momentum)
        compare_train_step(got, record, f" at step {t}", tol)


# Checks ----------------------------------------------------------------------------------------

@check(points=1)
def test_worked_example(submission, device):
    # The statement's example: a good step that completes the growth interval, then an inf.
    p = [torch.tensor([1.0, -2.0], device=device)]
    g = [torch.tensor([8.0, -4.0], device=device)]
    bufs = [torch.zeros(2, device=device)]
    state = scaler_state(8.0, interval=2, tracker=1)
    p1, b1, s1, f1 = assert_tuple(submission.scaler_step(p, g, bufs, state, 0.5, 0.9), 4, what="first result")
    compare_found(f1, False, " at the first step")
    compare_state(s1, scaler_state(16.0, interval=2, tracker=0), what="scaler after the first step")
    compare_tensors(p1, [torch.tensor([0.5, -1.75], device=device)], "params after the first step")
    compare_tensors(b1, [torch.tensor([1.0, -0.5], device=device)], "bufs after the first step")
    g2 = [torch.tensor([math.inf, 1.0], device=device)]
    p2, b2, s2, f2 = assert_tuple(submission.scaler_step(p1, g2, b1, s1, 0.5, 0.9), 4, what="second result")
    compare_found(f2, True, " at the second step")
    compare_state(s2, scaler_state(8.0, interval=2, tracker=0), what="scaler after the second step")
    compare_tensors(p2, [torch.tensor([0.5, -1.75], device=device)], "params after the skipped step")
    compare_tensors(b2, [torch.tensor([1.0, -0.5], device=device)], "bufs after the skipped step")


@check(points=1)
def test_scaler_steps_match_grad_scaler(submission, device):
    # Two parameters, six steps with an overflow at the fourth, growth_interval 2.
    params = [randn(3, 4, seed=1, device=device), randn(5, seed=2, device=device)]
    grads = [[randn(3, 4, seed=10 + t, device=device, scale=64.0), randn(5, seed=20 + t, device=device, scale=64.0)]
             for t in range(6)]
    grads[3][1][2] = math.inf
    state = scaler_state(64.0, interval=2)
    expected = torch_scaler_run(params, grads, state, 0.1, 0.9)
    compare_scaler_run(scaler_run(submission, params, grads, state, 0.1, 0.9), expected)


@check(points=1)
def test_train_step_bfloat16(submission, device):
    # Three chained steps of the tiny model in bfloat16: the submission's outputs are its next inputs.
    master = tiny_model(4, 6, 2, seed=31, device=device)
    bufs = {n: torch.zeros_like(w) for n, w in master.items()}
    state = scaler_state(2.0 ** 16, interval=2)
    batches = [(randn(5, 4, seed=40 + t, dtype=torch.bfloat16, device=device), randn(5, 2, seed=50 + t, device=device))
               for t in range(3)]
    records = torch_amp_run(master, bufs, state, batches, 0.05, 0.9)
    m, b, s = master, bufs, state
    for t, (record, (x, y)) in enumerate(zip(records, batches), start=1):
        got = submission.train_step(m, b, s, x, y, 0.05, 0.9)
        compare_train_step(got, record, f" at step {t}")
        m, b, s = got[0], got[1], got[2]
