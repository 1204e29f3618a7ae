"""Exercise: a reproducible train / validation / test split of n samples."""

import torch


def data_split(n: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
               seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Shuffle the indices 0 .. n-1 with a seeded generator and cut them into three disjoint parts.

    The draw is fixed so that every correct answer returns the same indices::

        g = torch.Generator()            # a CPU generator, not the global one
        g.manual_seed(seed)
        perm = torch.randperm(n, generator=g)

    Then, with n_train = math.floor(n * fractions[0]) and n_val = math.floor(n * fractions[1])
    (Python float arithmetic), train is ``perm[:n_train]``, validation the next n_val entries and
    test everything that is left. ``fractions[2]`` is not used to count: test takes the rest, so
    the three parts always cover range(n) exactly.

    Args:
        n: number of samples, an int >= 0.
        fractions: (train, validation, test) fractions, non-negative and summing to 1.
        seed: seed of the generator; the same seed gives the same split, another seed another.

    Returns:
        ``(train_idx, val_idx, test_idx)``: 1-d int64 tensors on the CPU, of lengths n_train, n_val
        and n - n_train - n_val (possibly 0), disjoint, together holding every index in range(n)
        once, in the order of ``perm``. Index a dataset on any device with them
        (``x[train_idx.to(x.device)]``).

    Forbidden: nothing. The global generator (``torch.manual_seed``, ``torch.randperm(n)`` without
    ``generator=``) must not be used: it is shared state, and changing it changes other code's draws.
    """
    raise NotImplementedError
