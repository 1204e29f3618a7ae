"""Returns Python lists of indices instead of tensors."""
import math

import torch


def data_split(n, fractions=(0.8, 0.1, 0.1), seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    perm = torch.randperm(n, generator=g).tolist()
    a, b = math.floor(n * fractions[0]), math.floor(n * fractions[1])
    return perm[:a], perm[a:a + b], perm[a + b:]
