"""Steps along the raw gradient (plain gradient descent) instead of calling adam_step."""
import torch
from adam import adam_step
from mlp_backward import mlp_backward

NAMES = ("W1", "b1", "W2", "b2")


def train_mlp(x, y, W1, b1, W2, b2, steps, lr):
    params = dict(zip(NAMES, (W1, b1, W2, b2)))
    losses = []
    for _ in range(steps):
        loss, grads = mlp_backward(x, y, *params.values())
        losses.append(loss)
        params = {n: params[n] - lr * grads[n] for n in NAMES}
    return torch.stack(losses), params
