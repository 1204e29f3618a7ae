"""Loops over elements with math.exp, overflowing for very negative inputs."""
import math

import torch


def sigmoid(x):
    flat = x.reshape(-1).tolist()
    out = [1 / (1 + math.exp(-v)) for v in flat]
    return torch.tensor(out, dtype=x.dtype, device=x.device).reshape(x.shape)
