"""Hidden checks for data_split: the exact draw, floor sizes, seeds, defaults, tiny n, types."""

import math

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check

NAMES = ("train_idx", "val_idx", "test_idx")


def oracle(n: int, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator()
    g.manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    a, b = math.floor(n * fractions[0]), math.floor(n * fractions[1])
    return perm[:a], perm[a:a + b], perm[a + b:]


def compare(result, want) -> None:
    # Indices are integers: exact equality, dtype int64, on the CPU.
    for got, expected, name in zip(assert_tuple(result, 3), want, NAMES):
        assert_tensor(got, expected, rtol=0, atol=0, what=name)


@check(points=2)
@pytest.mark.parametrize("n, fractions, seed", [(1000, (0.7, 0.2, 0.1), 3), (53, (0.5, 0.25, 0.25), 11)],
                         ids=["n1000", "n53"])
def test_exact_draw(submission, device, n, fractions, seed):
    compare(submission.data_split(n, fractions, seed), oracle(n, fractions, seed))


@check(points=1)
def test_floor_sizes(submission, device):
    # 37·0.8 = 29.6 and 37·0.1 = 3.7: floor gives 29 and 3, leaving 5 for test (round would give 30, 4, 3).
    train, val, test = assert_tuple(submission.data_split(37, [0.8, 0.1, 0.1], 5), 3)
    sizes = tuple(int(t.numel()) if type(t) is torch.Tensor else -1 for t in (train, val, test))
    if sizes != (29, 3, 5):
        raise CheckFailure("the parts have the wrong sizes", f"got {sizes}, expected (29, 3, 5)")


@check(points=1)
def test_defaults(submission, device):
    # Only n given: fractions (0.8, 0.1, 0.1) and seed 0.
    compare(submission.data_split(41), oracle(41))


@check(points=1)
def test_same_seed_same_split_other_seed_other_split(submission, device):
    first = assert_tuple(submission.data_split(64, (0.75, 0.125, 0.125), 21), 3)
    again = assert_tuple(submission.data_split(64, (0.75, 0.125, 0.125), 21), 3)
    for a, b, name in zip(first, again, NAMES):
        assert_tensor(b, a, rtol=0, atol=0, what=f"{name} of a second call with the same seed")
    other = assert_tuple(submission.data_split(64, (0.75, 0.125, 0.125), 22), 3)
    if all(torch.equal(a, b) for a, b in zip(first, other)):
        raise CheckFailure("a different seed gave the same split")


@check(points=1)
@pytest.mark.parametrize("n", [0, 1, 2], ids=["n0", "n1", "n2"])
def test_tiny_n(submission, device, n):
    # n = 1: floor(0.8) = floor(0.1) = 0, so train and val are empty and test holds the one sample.
    compare(submission.data_split(n, (0.8, 0.1, 0.1), 7), oracle(n, (0.8, 0.1, 0.1), 7))


@check(points=1)
def test_all_to_train(submission, device):
    compare(submission.data_split(19, (1.0, 0.0, 0.0), 8), oracle(19, (1.0, 0.0, 0.0), 8))


@check(points=1)
def test_partition_large(submission, device):
    train, val, test = assert_tuple(submission.data_split(5003, (0.6, 0.3, 0.1), 9), 3)
    for t, name in zip((train, val, test), NAMES):
        if type(t) is not torch.Tensor or t.dtype != torch.int64 or t.dim() != 1:
            raise CheckFailure(f"{name} is not a 1-d int64 tensor")
    together = torch.cat([train.cpu(), val.cpu(), test.cpu()]).sort().values
    if not torch.equal(together, torch.arange(5003)):
        raise CheckFailure("the three parts are not a partition of range(n)")
