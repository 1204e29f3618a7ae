"""Hidden checks for bce_loss: soft labels, the −100 clamp, shapes, dtypes and modified inputs."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, rand

DTYPES = [torch.float32, torch.float64]
# float32: logs and a mean of up to a few hundred terms, a few ulps of the loss (1e-5 relative).
# float64: the same arithmetic at ~1e-15; 1e-10 leaves room and still catches a float32 detour.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def _hard(*shape, seed, dtype, device):
    return (rand(*shape, seed=seed) > 0.5).to(dtype=dtype, device=device)


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_hard_labels(submission, device, dtype):
    # (batch 9, d 4): the mean runs over all 36 entries, not over the 9 rows.
    p = rand(9, 4, seed=300, dtype=dtype, device=device, low=0.01, high=0.99)
    y = _hard(9, 4, seed=301, dtype=dtype, device=device)
    assert_tensor(submission.bce_loss(p, y), F.binary_cross_entropy(p, y), **TOL[dtype])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_soft_labels(submission, device, dtype):
    p = rand(7, 6, seed=310, dtype=dtype, device=device, low=0.01, high=0.99)
    y = rand(7, 6, seed=311, dtype=dtype, device=device)
    assert_tensor(submission.bce_loss(p, y), F.binary_cross_entropy(p, y), **TOL[dtype])


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_exact_zeros_and_ones(submission, device, dtype):
    # Every pairing of p ∈ {0, 1} with y ∈ {0, 1, soft}: log(0) terms clamp to -100 before the
    # label multiplies them, so 0 · log(0) is 0 and the loss is finite.
    p = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5, 0.25], dtype=dtype, device=device)
    y = torch.tensor([0.0, 1.0, 0.3, 0.0, 1.0, 0.7, 1.0, 0.0], dtype=dtype, device=device)
    assert_tensor(submission.bce_loss(p, y), F.binary_cross_entropy(p, y), **TOL[dtype])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_predictions_below_the_clamp(submission, device, dtype):
    # Not exactly 0 or 1, yet log p < -100: the clamp applies to them too (float32 subnormal 1e-45,
    # float64 1e-60); 1 - p rounds to 1 - 2^-24 (float32) or stays (float64) near the top.
    tiny = 1e-45 if dtype == torch.float32 else 1e-60
    p = torch.tensor([tiny, tiny, 1e-30, 0.999999, 0.5], dtype=dtype, device=device)
    y = torch.tensor([1.0, 0.6, 1.0, 0.0, 0.5], dtype=dtype, device=device)
    assert_tensor(submission.bce_loss(p, y), F.binary_cross_entropy(p, y), **TOL[dtype])


@check(points=1)
def test_shapes(submission, device):
    # Flat, 3-d and a single element: the result is always 0-d, the mean over every element.
    for i, shape in enumerate([(11,), (2, 3, 5), (1,), (1, 1)]):
        p = rand(*shape, seed=320 + i, dtype=torch.float64, device=device, low=0.05, high=0.95)
        y = rand(*shape, seed=330 + i, dtype=torch.float64, device=device)
        assert_tensor(submission.bce_loss(p, y), F.binary_cross_entropy(p, y), **TOL[torch.float64],
                      what=f"loss for shape {shape}")


@check(points=1)
def test_non_contiguous_inputs(submission, device):
    p = rand(8, 6, seed=340, device=device, low=0.01, high=0.99).t()           # (6, 8), transposed
    y = rand(6, 16, seed=341, device=device)[:, ::2]                           # (6, 8), stride 2
    assert_tensor(submission.bce_loss(p, y), F.binary_cross_entropy(p, y), **TOL[torch.float32])


@check(points=1)
def test_large_batch_float32(submission, device):
    # 120 000 terms in float32: a plain .mean() is accurate enough; the loss is ~1.
    p = rand(400, 300, seed=350, device=device, low=0.001, high=0.999)
    y = rand(400, 300, seed=351, device=device)
    assert_tensor(submission.bce_loss(p, y), F.binary_cross_entropy(p, y), rtol=1e-4, atol=1e-6)


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares both arguments after the call with what was sent; zeros included so that
    # an in-place clamp of the predictions would show.
    p = torch.tensor([[0.0, 0.2, 1.0], [0.7, 0.999, 0.4]], dtype=torch.float64, device=device)
    y = torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.0, 0.2]], dtype=torch.float64, device=device)
    assert_tensor(submission.bce_loss(p, y), F.binary_cross_entropy(p, y), **TOL[torch.float64])
