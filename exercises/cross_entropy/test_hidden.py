"""Hidden checks for cross_entropy: dtypes, extreme logits, shapes, reduction and unchanged inputs."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# float32: a log-sum-exp and a mean over at most a few hundred terms, within ~1e-6 relative of
# torch; float64: 1e-12 relative. atol covers losses near 0.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-14)}


def targets_for(n: int, c: int, seed: int, device) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, c, (n,), generator=g).to(device)


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values_match_torch(submission, device, dtype):
    logits = randn(9, 7, seed=301, dtype=dtype, device=device, scale=3.0)
    targets = targets_for(9, 7, 301, device)
    assert_tensor(submission.cross_entropy(logits, targets), F.cross_entropy(logits, targets), **TOL[dtype])


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_large_logits_are_stable(submission, device, dtype):
    # Logits of ±1e4: exp overflows unless the row maximum is taken out first.
    logits = randn(6, 4, seed=302, dtype=dtype, device=device, scale=1e4)
    targets = targets_for(6, 4, 302, device)
    assert_tensor(submission.cross_entropy(logits, targets), F.cross_entropy(logits, targets), **TOL[dtype])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_confidently_wrong_rows(submission, device, dtype):
    # The target's logit sits ~2e4 below the row maximum: softmax underflows to 0 there, so
    # log(softmax) is -inf; the loss itself is a finite ~2e4.
    logits = randn(3, 5, seed=303, dtype=dtype, device=device)
    logits[:, 0] = -1e4
    logits[:, 3] = 1e4
    targets = torch.tensor([0, 0, 2], device=device)
    assert_tensor(submission.cross_entropy(logits, targets), F.cross_entropy(logits, targets), **TOL[dtype])


@check(points=1)
def test_more_rows_than_classes(submission, device):
    # N != C and N > C: indexing rows by the targets, or columns by every target, shows.
    logits = randn(11, 3, seed=304, device=device, scale=2.0)
    targets = targets_for(11, 3, 304, device)
    assert_tensor(submission.cross_entropy(logits, targets), F.cross_entropy(logits, targets), **TOL[torch.float32])


@check(points=1)
def test_targets_miss_some_classes(submission, device):
    # The largest class never appears among the targets (one_hot without num_classes is too narrow).
    logits = randn(5, 8, seed=305, dtype=torch.float64, device=device)
    targets = torch.tensor([0, 3, 1, 3, 2], device=device)
    assert_tensor(submission.cross_entropy(logits, targets), F.cross_entropy(logits, targets), **TOL[torch.float64])


@check(points=1)
def test_batch_of_one_and_one_class(submission, device):
    for n, c in [(1, 6), (4, 1), (2, 1000)]:
        logits = randn(n, c, seed=306 + c, device=device, scale=2.0)
        targets = targets_for(n, c, 306 + c, device)
        assert_tensor(submission.cross_entropy(logits, targets), F.cross_entropy(logits, targets),
                      **TOL[torch.float32], what=f"result for N={n}, C={c}")


@check(points=1)
def test_non_contiguous_logits(submission, device):
    logits = randn(7, 10, seed=307, device=device, scale=2.0).t()  # (10, 7), strided
    targets = targets_for(10, 7, 307, device)
    assert_tensor(submission.cross_entropy(logits, targets), F.cross_entropy(logits, targets), **TOL[torch.float32])


@check(points=1)
def test_mean_over_rows(submission, device):
    # The same row repeated k times must give the loss of that row: a sum grows with k.
    row = randn(1, 6, seed=308, dtype=torch.float64, device=device)
    targets = torch.full((12,), 4, device=device)
    single = F.cross_entropy(row, targets[:1])
    assert_tensor(submission.cross_entropy(row.expand(12, 6).contiguous(), targets), single, **TOL[torch.float64])


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    logits = randn(4, 9, seed=309, device=device)
    submission.cross_entropy(logits, targets_for(4, 9, 309, device))
