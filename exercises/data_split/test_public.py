"""Public checks for data_split: the worked example and the partition property."""

import math

import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check


def oracle(n: int, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator()
    g.manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    a, b = math.floor(n * fractions[0]), math.floor(n * fractions[1])
    return perm[:a], perm[a:a + b], perm[a + b:]


@check(points=1)
def test_worked_example(submission, device):
    parts = assert_tuple(submission.data_split(10, (0.8, 0.1, 0.1), 0), 3)
    # Indices are integers: exact equality.
    for got, want, name in zip(parts, oracle(10), ("train_idx", "val_idx", "test_idx")):
        assert_tensor(got, want, rtol=0, atol=0, what=name)


@check(points=1)
def test_disjoint_and_covering(submission, device):
    train, val, test = assert_tuple(submission.data_split(25, (0.6, 0.2, 0.2), 4), 3)
    for t, name in ((train, "train_idx"), (val, "val_idx"), (test, "test_idx")):
        if type(t) is not torch.Tensor or t.dtype != torch.int64 or t.dim() != 1:
            raise CheckFailure(f"{name} is not a 1-d int64 tensor", f"got {t!r}")
    together = torch.cat([train, val, test]).cpu().sort().values
    if not torch.equal(together, torch.arange(25)):
        raise CheckFailure("the three parts are not a partition of range(n)",
                           "every index 0 .. n-1 must appear exactly once across train, val and test")
    if (len(train), len(val), len(test)) != (15, 5, 5):
        raise CheckFailure("the parts have the wrong sizes",
                           f"got {len(train)}, {len(val)}, {len(test)}; expected 15, 5, 5")
