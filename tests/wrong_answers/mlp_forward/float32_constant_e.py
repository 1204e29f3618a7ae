"""Computes e**(-z) with torch.tensor(math.e): a float32 constant, so float64 loses precision."""
import math

import torch


def _sigmoid(z):
    e = torch.tensor(math.e, device=z.device)
    return 1 / (1 + e ** (-z))


def mlp_forward(x, W1, b1, W2, b2):
    return _sigmoid(_sigmoid(x @ W1 + b1) @ W2 + b2)
