"""Exercise: save and resume a training run (model, AdamW, LR schedule, RNG) bit for bit."""

import math

import torch
from torch import nn

# ---------------------------------------------------------------------------------------------
# Provided: the training run to checkpoint. Do not change this part: the checks run an identical
# copy of it, uninterrupted, and compare your resumed runs with theirs bit for bit.
# ---------------------------------------------------------------------------------------------

NAMES = ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")


class TinyNet(nn.Module):
    """x → fc2(dropout(tanh(fc1(x)))): the dropout masks come from the global random generator."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, p_drop: float, dtype: torch.dtype,
                 device: torch.device):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden, dtype=dtype, device=device)
        self.drop = nn.Dropout(p_drop)
        self.fc2 = nn.Linear(d_hidden, d_out, dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(torch.tanh(self.fc1(x))))


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up over ``warmup`` steps, then a cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def build(weights: dict, config: dict):
    """A fresh model holding ``weights``, its AdamW optimiser and its LambdaLR schedule."""
    w1, w2 = weights["fc1.weight"], weights["fc2.weight"]
    model = TinyNet(w1.shape[1], w1.shape[0], w2.shape[0], config["p_drop"], w1.dtype, w1.device)
    model.load_state_dict(weights)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"], betas=(config["beta1"], config["beta2"]),
                                  weight_decay=config["weight_decay"])
    warmup, total = config["warmup"], config["total"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, warmup, total))
    return model, optimizer, scheduler


def train_steps(model, optimizer, scheduler, x: torch.Tensor, y: torch.Tensor, steps: int, batch: int) -> None:
    """``steps`` steps on random mini-batches of (x, y): each draws its batch and its dropout mask."""
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (batch,), device=x.device)
        loss = torch.nn.functional.mse_loss(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()


def snapshot(model, optimizer, scheduler) -> dict:
    """What the checks compare: parameters, Adam's moments and step counts, the schedule's position
    and learning rate, and the random generators' states, as plain copies."""
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


def train_and_save(weights: dict, x: torch.Tensor, y: torch.Tensor, config: dict, seed: int,
                   steps: int) -> dict:
    """Provided: seed the generator, build the run, train ``steps`` steps, return your checkpoint.

    Args:
        weights: the starting parameters {"fc1.weight": (d_hidden, d_in), "fc1.bias": (d_hidden,),
            "fc2.weight": (d_out, d_hidden), "fc2.bias": (d_out,)}, float32 or float64.
        x: inputs (n, d_in), y: targets (n, d_out), in the weights' dtype and device.
        config: {"lr", "beta1", "beta2", "weight_decay", "p_drop"} floats and {"warmup", "total",
            "batch"} ints.
        seed: the seed of the global generator at the start of the run.
        steps: how many steps to train before saving (0 allowed).

    Returns:
        ``save_state(model, optimizer, scheduler)`` after the last step.
    """
    torch.manual_seed(seed)
    model, optimizer, scheduler = build(weights, config)
    train_steps(model, optimizer, scheduler, x, y, steps, config["batch"])
    return save_state(model, optimizer, scheduler)


def resume(weights: dict, x: torch.Tensor, y: torch.Tensor, config: dict, checkpoint: dict, seed: int,
           steps: int) -> tuple[dict, dict]:
    """Provided: a new run (seeded with ``seed``, starting from ``weights``) loads ``checkpoint``
    and trains ``steps`` more steps, as a restarted job would.

    Args:
        weights: parameters the new run is built with before loading (load_state overwrites them).
        x, y, config: as for ``train_and_save``.
        checkpoint: a dict returned by ``save_state`` (here after a trip through the grader).
        seed: the new process's seed: not the generator state the checkpoint was taken with.
        steps: how many steps to train after loading.

    Returns:
        ``(snapshot, checkpoint)``: ``snapshot(...)`` of the run after those steps, and
        ``save_state(...)`` of it then. ``checkpoint`` itself is left unchanged.
    """
    torch.manual_seed(seed)
    model, optimizer, scheduler = build(weights, config)
    load_state(model, optimizer, scheduler, checkpoint)
    train_steps(model, optimizer, scheduler, x, y, steps, config["batch"])
    return snapshot(model, optimizer, scheduler), save_state(model, optimizer, scheduler)


def save_midway(weights: dict, x: torch.Tensor, y: torch.Tensor, config: dict, seed: int, steps_before: int,
                steps_after: int, resume_seeds: list[int]) -> tuple[dict, ...]:
    """Provided: all in one process: train ``steps_before`` steps, save, carry on ``steps_after``
    steps (the uninterrupted run, whose tensors change in place), then resume from that one
    checkpoint once per seed of ``resume_seeds``, each time in a new run, for ``steps_after`` steps.

    Args:
        weights, x, y, config, seed: as for ``train_and_save``.
        steps_before: steps before the checkpoint; steps_after: steps after it.
        resume_seeds: the seed each new run starts with before it loads the checkpoint.

    Returns:
        ``(straight, resumed, ...)``: the snapshots of the uninterrupted run and of each resumed
        run, in order; all of them must be equal.
    """
    torch.manual_seed(seed)
    model, optimizer, scheduler = build(weights, config)
    train_steps(model, optimizer, scheduler, x, y, steps_before, config["batch"])
    checkpoint = save_state(model, optimizer, scheduler)
    train_steps(model, optimizer, scheduler, x, y, steps_after, config["batch"])
    runs = [snapshot(model, optimizer, scheduler)]
    for new_seed in resume_seeds:
        torch.manual_seed(new_seed)
        model, optimizer, scheduler = build(weights, config)
        load_state(model, optimizer, scheduler, checkpoint)
        train_steps(model, optimizer, scheduler, x, y, steps_after, config["batch"])
        runs.append(snapshot(model, optimizer, scheduler))
    return tuple(runs)


# ---------------------------------------------------------------------------------------------
# The exercise.
# ---------------------------------------------------------------------------------------------

def save_state(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler) -> dict:
    """A checkpoint of the run: everything its next steps depend on, as plain copied data.

    After ``load_state`` of this checkpoint into a freshly built run (any weights, any generator
    state), the next steps must be bit for bit those of the run that was saved.

    Args:
        model: the ``TinyNet`` being trained (float32 or float64 parameters, CPU or CUDA).
        optimizer: its ``torch.optim.AdamW``: per-parameter moments (exp_avg, exp_avg_sq), step
            counts (the bias corrections depend on them) and param_groups (the current lr).
        scheduler: its ``torch.optim.lr_scheduler.LambdaLR``: its position (last_epoch).

    Returns:
        A dict, nested as you like, holding only plain data: tensors, Python numbers, bools,
        strings, None, and dicts/lists/tuples of those (no bytes, no pickles, no OrderedDict, no
        modules). Every tensor is a copy: training the run further must not change the
        checkpoint. Tensors keep their dtype. It holds the model's parameters, the optimiser's
        state, the schedule's state, and the state of the global random generator
        (``torch.get_rng_state()``, a uint8 tensor; on CUDA also that device's generator).
        The run itself is left as it was.
    """
    raise NotImplementedError


def load_state(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler, state: dict) -> None:
    """Put a freshly built run back exactly where ``save_state`` found the saved one.

    Args:
        model, optimizer, scheduler: a run just made by ``build`` (other weights, a fresh optimiser
            with no state, a schedule at its start, the generator seeded differently).
        state: a dict ``save_state`` returned, possibly after a trip through the grader (same
            structure and values; tensors on the same device).

    Returns:
        None. The model, optimiser, schedule and global generator(s) are changed in place;
        ``state`` is not, neither now nor by the training steps that follow: it can be loaded
        again later.
    """
    raise NotImplementedError
