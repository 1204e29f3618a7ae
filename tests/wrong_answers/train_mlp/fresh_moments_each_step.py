"""Creates Adam's moments inside the loop: they restart from zero at every step."""
import torch
from adam import adam_step
from mlp_backward import mlp_backward

NAMES = ("W1", "b1", "W2", "b2")


def train_mlp(x, y, W1, b1, W2, b2, steps, lr):
    params = dict(zip(NAMES, (W1, b1, W2, b2)))
    losses = []
    for t in range(1, steps + 1):
        loss, grads = mlp_backward(x, y, *params.values())
        losses.append(loss)
        for n in NAMES:
            m, v = torch.zeros_like(params[n]), torch.zeros_like(params[n])
            params[n], m, v = adam_step(params[n], grads[n], m, v, t, lr)
    return torch.stack(losses), params
