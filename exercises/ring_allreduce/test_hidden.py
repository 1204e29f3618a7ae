"""Hidden checks for ring_allreduce: dtypes, rank counts, uneven and empty chunks, the bytes of the
stated schedule, N = 1 and 2, identical results on every rank, views, scales, unchanged inputs."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn

DTYPES = [torch.float32, torch.float64]
EPS = {torch.float32: 2.0 ** -23, torch.float64: 2.0 ** -52}


def run(submission, tensors):
    averaged, sent = assert_tuple(submission.ring_allreduce(tensors), 2)
    if type(averaged) not in (list, tuple) or len(averaged) != len(tensors):
        raise CheckFailure("the averaged tensors are not a list of one tensor per rank")
    if type(sent) not in (list, tuple) or len(sent) != len(tensors):
        raise CheckFailure("the bytes sent are not a list of one value per rank")
    if any(type(b) is not int for b in sent):
        raise CheckFailure("the bytes sent are not Python ints")
    return list(averaged), list(sent)


def schedule_bytes(numel: int, n: int, element_size: int) -> list[int]:
    """The oracle for the traffic: the stated schedule walked step by step over the chunk sizes."""
    sizes = [c.numel() for c in torch.tensor_split(torch.empty(numel), n)]
    sent = [0] * n
    for s in range(n - 1):
        for r in range(n):
            sent[r] += sizes[(r - s) % n] * element_size  # reduce-scatter
    for s in range(n - 1):
        for r in range(n):
            sent[r] += sizes[(r + 1 - s) % n] * element_size  # all-gather
    return sent


def tolerance(tensors: list[torch.Tensor]) -> dict:
    # A sum of N values in another order than torch's, then one division: each entry is off by at
    # most ~N roundings of the largest magnitude; 4x that leaves room for any honest order.
    dtype, n = tensors[0].dtype, len(tensors)
    scale = max(float(t.abs().max()) for t in tensors) if tensors[0].numel() else 1.0
    return dict(rtol=4 * n * EPS[dtype], atol=4 * n * EPS[dtype] * scale)


def compare_means(averaged, tensors, when=""):
    mean = torch.stack(tensors).mean(0)
    tol = tolerance(tensors)
    for r, a in enumerate(averaged):
        assert_tensor(a, mean, **tol, what=f"result of rank {r}{when}")


def compare_bytes(sent, numel, n, element_size, when=""):
    expected = schedule_bytes(numel, n, element_size)
    if sent != expected:
        raise CheckFailure(f"wrong bytes sent{when}", f"got {sent}, expected {expected}")


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_means_match_torch(submission, device, dtype):
    for n, shape in ((3, (5, 7)), (5, (2, 3, 4)), (8, (64,))):
        tensors = [randn(*shape, seed=100 * n + r, dtype=dtype, device=device) for r in range(n)]
        averaged, _ = run(submission, tensors)
        compare_means(averaged, tensors, f" (N = {n}, shape {shape})")


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_bytes_even_split(submission, device, dtype):
    # P divisible by N: every rank sends exactly 2(N - 1)/N of one tensor's bytes.
    for n, shape in ((2, (6, 4)), (4, (3, 8)), (6, (5, 6))):
        tensors = [randn(*shape, seed=200 * n + r, dtype=dtype, device=device) for r in range(n)]
        _, sent = run(submission, tensors)
        nbytes = tensors[0].numel() * tensors[0].element_size()
        expected = 2 * (n - 1) * nbytes // n
        if sent != [expected] * n:
            raise CheckFailure(f"wrong bytes sent (N = {n}): each rank should send 2(N - 1)/N of one tensor",
                               f"got {sent}, expected {[expected] * n}")


@check(points=2)
def test_bytes_uneven_chunks(submission, device):
    # P not divisible by N: torch.tensor_split's sizes and the stated schedule decide each rank's bytes.
    for n, shape in ((4, (10,)), (3, (7, 1)), (5, (3, 4)), (7, (9, 2))):
        tensors = [randn(*shape, seed=300 * n + r, device=device) for r in range(n)]
        averaged, sent = run(submission, tensors)
        compare_means(averaged, tensors, f" (N = {n}, shape {shape})")
        compare_bytes(sent, tensors[0].numel(), n, 4, f" (N = {n}, {tensors[0].numel()} elements)")


@check(points=1)
def test_fewer_elements_than_ranks(submission, device):
    # Some chunks are empty (P < N): they are sent as zero bytes, and 0-d tensors work.
    for n, shape in ((5, (3,)), (4, ()), (3, (1, 1))):
        numel = torch.Size(shape).numel()
        tensors = [randn(numel, seed=400 * n + r, dtype=torch.float64, device=device).reshape(shape)
                   for r in range(n)]
        averaged, sent = run(submission, tensors)
        compare_means(averaged, tensors, f" (N = {n}, shape {shape})")
        compare_bytes(sent, tensors[0].numel(), n, 8, f" (N = {n}, shape {shape})")


@check(points=1)
def test_single_rank(submission, device):
    tensor = randn(4, 3, seed=501, device=device)
    averaged, sent = run(submission, [tensor])
    assert_tensor(averaged[0], tensor, rtol=0, atol=0, what="result of the only rank")
    if sent != [0]:
        raise CheckFailure("a single rank sends nothing", f"got {sent}, expected [0]")


@check(points=1)
def test_two_ranks(submission, device):
    # N = 2: each rank sends one chunk per phase, half the tensor each time: P elements in all.
    tensors = [randn(5, 3, seed=510 + r, dtype=torch.float64, device=device) for r in range(2)]
    averaged, sent = run(submission, tensors)
    compare_means(averaged, tensors)
    compare_bytes(sent, 15, 2, 8)


@check(points=1)
def test_every_rank_holds_the_same_bits(submission, device):
    # The all-gather copies each averaged chunk from the rank that reduced it: every rank ends with
    # exactly the same numbers (a rank that summed in its own order would not).
    n = 6
    tensors = [randn(11, 13, seed=600 + r, device=device, scale=10.0 ** (r % 3)) for r in range(n)]
    averaged, _ = run(submission, tensors)
    compare_means(averaged, tensors)
    for r in range(1, n):
        if not torch.equal(averaged[r].cpu(), averaged[0].cpu()):
            raise CheckFailure(f"rank {r} does not hold exactly the same result as rank 0")


@check(points=1)
def test_mixed_scales_and_many_ranks(submission, device):
    # Ranks whose gradients differ by six orders of magnitude, and N = 16.
    n = 16
    tensors = [randn(37, seed=700 + r, dtype=torch.float64, device=device, scale=10.0 ** (r % 7 - 3))
               for r in range(n)]
    averaged, sent = run(submission, tensors)
    compare_means(averaged, tensors)
    compare_bytes(sent, 37, n, 8)


@check(points=1)
def test_non_contiguous_inputs(submission, device):
    tensors = [randn(6, 9, seed=800 + r, device=device).t()[::2] for r in range(4)]  # (5, 6) strided views
    averaged, sent = run(submission, tensors)
    compare_means(averaged, tensors)
    compare_bytes(sent, 30, 4, 4)


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    run(submission, [randn(4, 5, seed=900 + r, device=device) for r in range(3)])
