"""Uses σ(x) = (1 + tanh(x)) / 2, forgetting that the identity needs tanh(x / 2)."""
import torch


def sigmoid(x):
    return 0.5 * (1 + torch.tanh(x))
