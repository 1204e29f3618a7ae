"""Public checks for checkpoint: a run resumed from a checkpoint equals the uninterrupted run, bit for bit.

The uninterrupted run is computed here, in the grader, by a copy of the stub's provided training
code; the submission's checkpoint only ever crosses as plain data (tensors and numbers).
"""

import contextlib
import math

import torch
from torch import nn

from grader.checks import CheckFailure, assert_scalar, assert_tensor, assert_tuple, check, randn

NAMES = ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")
EXACT = dict(rtol=0, atol=0)  # bit for bit: the same operations on the same values, in order


# The provided training run, as in the stub ------------------------------------------------------

class TinyNet(nn.Module):
    def __init__(self, d_in, d_hidden, d_out, p_drop, dtype, device):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden, dtype=dtype, device=device)
        self.drop = nn.Dropout(p_drop)
        self.fc2 = nn.Linear(d_hidden, d_out, dtype=dtype, device=device)

    def forward(self, x):
        return self.fc2(self.drop(torch.tanh(self.fc1(x))))


def lr_factor(step, warmup, total):
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def build(weights, config):
    w1, w2 = weights["fc1.weight"], weights["fc2.weight"]
    model = TinyNet(w1.shape[1], w1.shape[0], w2.shape[0], config["p_drop"], w1.dtype, w1.device)
    model.load_state_dict(weights)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"], betas=(config["beta1"], config["beta2"]),
                                  weight_decay=config["weight_decay"])
    warmup, total = config["warmup"], config["total"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, warmup, total))
    return model, optimizer, scheduler


def train_steps(model, optimizer, scheduler, x, y, steps, batch):
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (batch,), device=x.device)
        loss = torch.nn.functional.mse_loss(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()


def snapshot(model, optimizer, scheduler):
    params = dict(model.named_parameters())
    out = {"params": {}, "exp_avg": {}, "exp_avg_sq": {}, "step": {}}
    for name in NAMES:
        p = params[name]
        state = optimizer.state.get(p, {})
        out["params"][name] = p.detach().clone()
        out["exp_avg"][name] = state["exp_avg"].clone() if "exp_avg" in state else torch.zeros_like(p)
        out["exp_avg_sq"][name] = state["exp_avg_sq"].clone() if "exp_avg_sq" in state else torch.zeros_like(p)
        out["step"][name] = float(state["step"]) if "step" in state else 0.0
    out["lr"] = float(optimizer.param_groups[0]["lr"])
    out["last_epoch"] = int(scheduler.last_epoch)
    out["rng"] = torch.get_rng_state()
    device = params[NAMES[0]].device
    if device.type == "cuda":
        out["rng_cuda"] = torch.cuda.get_rng_state(device)
    return out


# Oracle and comparisons -------------------------------------------------------------------------

@contextlib.contextmanager
def like_the_worker(device):
    """One thread, as in the worker, and the grader's own generators left as they were."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[device] if torch.device(device).type == "cuda" else []):
            yield
    finally:
        torch.set_num_threads(threads)


def straight_run(weights, x, y, config, seed, steps, device):
    """The uninterrupted run: seed, build, ``steps`` steps; its snapshot."""
    with like_the_worker(device):
        torch.manual_seed(seed)
        model, optimizer, scheduler = build(weights, config)
        train_steps(model, optimizer, scheduler, x, y, steps, config["batch"])
        return snapshot(model, optimizer, scheduler)


def compare_snapshots(got, expected, what="the resumed run", parts=None) -> None:
    """Field by field, so that a failure names what the checkpoint lost."""
    if type(got) is not dict or not set(expected) <= set(got):
        raise CheckFailure(f"{what}: the provided snapshot() result was changed")
    parts = parts or ("step", "lr", "params", "exp_avg", "exp_avg_sq", "rng")
    for part in parts:
        if part == "step":
            for n in NAMES:
                if got["step"].get(n) != expected["step"][n]:
                    raise CheckFailure(f"{what} has the wrong Adam step count",
                                       f"{n}: got {got['step'].get(n)}, expected {expected['step'][n]}")
        elif part == "lr":
            if got["last_epoch"] != expected["last_epoch"]:
                raise CheckFailure(f"{what} is at the wrong position of the learning-rate schedule",
                                   f"last_epoch {got['last_epoch']}, expected {expected['last_epoch']}")
            assert_scalar(got["lr"], expected["lr"], rtol=0, atol=0, what=f"the learning rate of {what}")
        elif part == "rng":
            for key in [k for k in ("rng", "rng_cuda") if k in expected]:
                if not torch.equal(got[key], expected[key]):
                    raise CheckFailure(f"{what} ends with a different random generator state",
                                       "the checkpoint must restore the generator the dropout and batches draw from")
        else:
            label = {"params": "parameter", "exp_avg": "Adam first moment", "exp_avg_sq": "Adam second moment"}[part]
            for n in NAMES:
                assert_tensor(got[part][n], expected[part][n], **EXACT, what=f"{label} {n} of {what}")


def plain_data(value, where="the checkpoint") -> None:
    """Only what the contract allows: no bytes (a pickle by another name), no other types."""
    t = type(value)
    if t is dict:
        for k, v in value.items():
            plain_data(v, f"{where}[{k!r}]")
    elif t in (list, tuple):
        for i, v in enumerate(value):
            plain_data(v, f"{where}[{i}]")
    elif t is bytes:
        raise CheckFailure("the checkpoint holds bytes", f"{where}: save tensors and numbers, not serialised blobs")
    elif not (value is None or t in (bool, int, float, str, torch.Tensor)):
        raise CheckFailure("the checkpoint holds a value that is not plain data", f"{where}: {t.__qualname__}")


def problem(d_in, d_hidden, d_out, n, seed, device, dtype=torch.float32):
    """Seeded starting weights (≈ 1/√fan_in) and a regression data set."""
    f = dict(dtype=dtype, device=device)
    weights = {"fc1.weight": randn(d_hidden, d_in, seed=seed, scale=d_in ** -0.5, **f),
               "fc1.bias": randn(d_hidden, seed=seed + 1, scale=0.1, **f),
               "fc2.weight": randn(d_out, d_hidden, seed=seed + 2, scale=d_hidden ** -0.5, **f),
               "fc2.bias": randn(d_out, seed=seed + 3, scale=0.1, **f)}
    x = randn(n, d_in, seed=seed + 4, **f)
    y = torch.tanh(x @ randn(d_in, d_out, seed=seed + 5, **f)) + 0.1 * randn(n, d_out, seed=seed + 6, **f)
    return weights, x, y


def other_weights(weights, seed):
    """What a restarted job builds its model with before loading: anything but the saved weights."""
    return {n: randn(*w.shape, seed=seed + i, dtype=w.dtype, device=w.device) for i, (n, w) in enumerate(weights.items())}


def save_and_resume(submission, weights, x, y, config, seed, before, after):
    """Train ``before`` steps and save (one call), then resume ``after`` steps (another call)."""
    checkpoint = submission.train_and_save(weights, x, y, config, seed, before)
    plain_data(checkpoint)
    if type(checkpoint) is not dict:
        raise CheckFailure("save_state did not return a dict")
    snap, again = assert_tuple(submission.resume(other_weights(weights, seed + 50), x, y, config, checkpoint,
                                                 seed + 99, after), 2, what="result of resume")
    return snap, again


CONFIG = {"lr": 0.01, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.1, "p_drop": 0.25, "warmup": 2, "total": 6,
          "batch": 3}


# Checks ----------------------------------------------------------------------------------------

@check(points=1)
def test_worked_example(submission, device):
    # The statement's example: 2 steps, checkpoint, 2 more steps in a new run, against 4 straight.
    weights, x, y = problem(3, 4, 2, 8, seed=1, device=device)
    snap, _ = save_and_resume(submission, weights, x, y, CONFIG, 7, 2, 2)
    # By hand: Adam has taken 4 steps; the schedule stands at last_epoch 4, factor 0.5 · (1 + cos(π/2)).
    for n in NAMES:
        if snap["step"][n] != 4.0:
            raise CheckFailure("the resumed run has the wrong Adam step count",
                               f"{n}: got {snap['step'][n]}, expected 4.0 (2 saved + 2 resumed)")
    if snap["last_epoch"] != 4:
        raise CheckFailure("the resumed schedule is at the wrong position", f"last_epoch {snap['last_epoch']}, expected 4")
    assert_scalar(snap["lr"], 0.005, rtol=1e-12, atol=0, what="the learning rate after 4 steps")
    compare_snapshots(snap, straight_run(weights, x, y, CONFIG, 7, 4, device))


@check(points=1)
def test_resume_matches_uninterrupted_run(submission, device):
    weights, x, y = problem(4, 6, 3, 12, seed=11, device=device)
    config = dict(CONFIG, total=10)
    snap, _ = save_and_resume(submission, weights, x, y, config, 17, 4, 4)
    compare_snapshots(snap, straight_run(weights, x, y, config, 17, 8, device))
