"""Returns the output layer's pre-activations: the final sigmoid is missing."""
import torch


def mlp_forward(x, W1, b1, W2, b2):
    h = 1 / (1 + torch.exp(-(x @ W1 + b1)))
    return h @ W2 + b2
