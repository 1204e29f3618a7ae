"""Adds the first bias as a column (b1.reshape(-1, 1)): it broadcasts down the batch axis."""
import torch


def mlp_forward(x, W1, b1, W2, b2):
    h = 1 / (1 + torch.exp(-(x @ W1 + b1.reshape(-1, 1))))
    return 1 / (1 + torch.exp(-(h @ W2 + b2)))
