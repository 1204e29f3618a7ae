"""Reference solution: a reproducible train / validation / test split of n samples."""

import math

import torch


def data_split(n: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
               seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Shuffle range(n) with a generator seeded with ``seed``; cut floor(n·f) train and validation indices."""
    g = torch.Generator()
    g.manual_seed(seed)
    perm = torch.randperm(n, generator=g)  # (n,) int64 on the CPU
    n_train = math.floor(n * fractions[0])
    n_val = math.floor(n * fractions[1])
    return perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]
