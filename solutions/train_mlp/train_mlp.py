"""Reference solution: train the two-layer MLP with its hand-written backward pass and Adam."""

import torch
from adam import adam_step
from mlp_backward import mlp_backward

NAMES = ("W1", "b1", "W2", "b2")


def train_mlp(x: torch.Tensor, y: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
              b2: torch.Tensor, steps: int, lr: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Full-batch Adam on the BCE loss for ``steps`` steps; the loss before each step, and the final parameters."""
    params = dict(zip(NAMES, (W1, b1, W2, b2)))
    m = {name: torch.zeros_like(p) for name, p in params.items()}  # Adam's moments start at 0
    v = {name: torch.zeros_like(p) for name, p in params.items()}
    losses = []
    for t in range(1, steps + 1):  # Adam counts steps from 1: bias correction divides by 1 − β^t
        loss, grads = mlp_backward(x, y, params["W1"], params["b1"], params["W2"], params["b2"])
        losses.append(loss)
        for name in NAMES:
            params[name], m[name], v[name] = adam_step(params[name], grads[name], m[name], v[name], t, lr)
    return torch.stack(losses), params  # losses: (steps,)
