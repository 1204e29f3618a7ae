"""Public checks for ring_allreduce: the worked example and an even split over four ranks."""

import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn


def run(submission, tensors):
    averaged, sent = assert_tuple(submission.ring_allreduce(tensors), 2)
    if type(averaged) not in (list, tuple) or len(averaged) != len(tensors):
        raise CheckFailure("the averaged tensors are not a list of one tensor per rank")
    if type(sent) not in (list, tuple) or len(sent) != len(tensors) or any(type(b) is not int for b in sent):
        raise CheckFailure("the bytes sent are not a list of one Python int per rank", f"got {sent!r}")
    return list(averaged), list(sent)


@check(points=1)
def test_worked_example(submission, device):
    tensors = [torch.tensor(v, device=device) for v in ([1.0, 2, 3, 4], [5.0, 6, 7, 8], [0.0, -2, -4, 6])]
    averaged, sent = run(submission, tensors)
    for r, a in enumerate(averaged):
        assert_tensor(a, torch.tensor([2.0, 2, 2, 6], device=device), rtol=1e-6, atol=1e-6,  # sums of 3 floats
                      what=f"result of rank {r}")
    if sent != [24, 20, 20]:
        raise CheckFailure("wrong bytes sent", f"got {sent}, expected [24, 20, 20]")


@check(points=1)
def test_four_ranks_even_split(submission, device):
    # 24 elements over 4 ranks: chunks of 6, each rank sends 2 * 3 chunks = 2(N - 1)/N of its tensor.
    tensors = [randn(4, 6, seed=10 + r, device=device) for r in range(4)]
    averaged, sent = run(submission, tensors)
    mean = torch.stack(tensors).mean(0)
    for r, a in enumerate(averaged):
        assert_tensor(a, mean, rtol=1e-5, atol=1e-6, what=f"result of rank {r}")  # float32, sums of 4
    expected = 2 * 3 * 6 * 4  # 2(N - 1) chunks of 6 float32
    if sent != [expected] * 4:
        raise CheckFailure("wrong bytes sent", f"got {sent}, expected {[expected] * 4}")
