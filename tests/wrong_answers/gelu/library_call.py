"""Calls the forbidden library GELU."""
import torch.nn.functional as F


def gelu(x):
    return F.gelu(x, approximate="none")
