"""Uses erf(x) where the normal CDF needs erf(x / √2)."""
import torch


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x))
