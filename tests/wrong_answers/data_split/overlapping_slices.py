"""Off by one: validation starts at the last training index, so one sample is in both."""
import math

import torch


def data_split(n, fractions=(0.8, 0.1, 0.1), seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    a, b = math.floor(n * fractions[0]), math.floor(n * fractions[1])
    start = max(a - 1, 0)
    return perm[:a], perm[start:start + b], perm[a + b:]
