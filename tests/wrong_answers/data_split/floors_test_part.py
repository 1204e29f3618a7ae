"""Sizes the test part as floor(n·f_test) and gives validation the remainder."""
import math

import torch


def data_split(n, fractions=(0.8, 0.1, 0.1), seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    a, c = math.floor(n * fractions[0]), math.floor(n * fractions[2])
    return perm[:a], perm[a:n - c], perm[n - c:]
