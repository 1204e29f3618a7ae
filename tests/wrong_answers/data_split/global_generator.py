"""Draws from the global generator without seeding it: every call gives a new split."""
import math

import torch


def data_split(n, fractions=(0.8, 0.1, 0.1), seed=0):
    perm = torch.randperm(n)
    a, b = math.floor(n * fractions[0]), math.floor(n * fractions[1])
    return perm[:a], perm[a:a + b], perm[a + b:]
