"""Calls the forbidden library sigmoid through a Tensor method."""
import torch


def mlp_forward(x, W1, b1, W2, b2):
    return ((x @ W1 + b1).sigmoid() @ W2 + b2).sigmoid()
