"""x · σ(1.702 x), the sigmoid approximation of GELU."""
import torch


def gelu(x):
    return x / (1 + torch.exp(-1.702 * x))
