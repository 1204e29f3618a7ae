"""Rounds n·f to the nearest integer instead of flooring it."""
import torch


def data_split(n, fractions=(0.8, 0.1, 0.1), seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    a, b = round(n * fractions[0]), round(n * fractions[1])
    return perm[:a], perm[a:a + b], perm[a + b:]
