"""Cuts range(n) in order without shuffling: sorted data gives sorted, biased parts."""
import math

import torch


def data_split(n, fractions=(0.8, 0.1, 0.1), seed=0):
    idx = torch.arange(n)
    a, b = math.floor(n * fractions[0]), math.floor(n * fractions[1])
    return idx[:a], idx[a:a + b], idx[a + b:]
