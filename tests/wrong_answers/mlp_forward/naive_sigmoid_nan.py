"""Writes σ(z) as exp(z) / (1 + exp(z)): inf / inf = NaN for large pre-activations."""
import torch


def _sigmoid(z):
    e = torch.exp(z)
    return e / (1 + e)


def mlp_forward(x, W1, b1, W2, b2):
    return _sigmoid(_sigmoid(x @ W1 + b1) @ W2 + b2)
