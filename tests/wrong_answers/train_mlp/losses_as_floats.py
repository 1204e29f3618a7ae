"""Returns the loss history as a list of Python floats instead of a 1-d tensor."""
import torch
from adam import adam_step
from mlp_backward import mlp_backward

NAMES = ("W1", "b1", "W2", "b2")


def train_mlp(x, y, W1, b1, W2, b2, steps, lr):
    params = dict(zip(NAMES, (W1, b1, W2, b2)))
    m = {n: torch.zeros_like(p) for n, p in params.items()}
    v = {n: torch.zeros_like(p) for n, p in params.items()}
    losses = []
    for t in range(1, steps + 1):
        loss, grads = mlp_backward(x, y, *params.values())
        losses.append(loss.item())
        for n in NAMES:
            params[n], m[n], v[n] = adam_step(params[n], grads[n], m[n], v[n], t, lr)
    return losses, params
