"""Forgets the 1/2 of Φ(x) = (1 + erf(x/√2)) / 2."""
import math

import torch


def gelu(x):
    return x * (1 + torch.erf(x / math.sqrt(2)))
