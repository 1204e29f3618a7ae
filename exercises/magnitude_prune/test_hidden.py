"""Hidden checks for magnitude_prune: exact counts, ties, rounding of k, shapes, strides and dtypes."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn

DTYPES = [torch.float32, torch.float64]


def expected(w: torch.Tensor, sparsity: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The statement, literally: a stable sort of |w| in flat order, the first k pruned."""
    k = round(sparsity * w.numel())
    flat = w.detach().cpu().reshape(-1)
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    keep[torch.argsort(flat.abs(), stable=True)[:k]] = False
    mask = keep.reshape(w.shape).to(w.device)
    return torch.where(mask, w, torch.zeros((), dtype=w.dtype, device=w.device)), mask


def assert_pruned(result: object, w: torch.Tensor, sparsity: float, what: str = "") -> None:
    """Mask and pruned tensor exactly as expected: selection is exact, kept values are copied bit for bit."""
    pruned, mask = assert_tuple(result, 2, what=f"result{what}")
    exp_pruned, exp_mask = expected(w, sparsity)
    if type(mask) is torch.Tensor and mask.dtype == torch.bool and mask.shape == exp_mask.shape:
        if int(mask.sum()) != int(exp_mask.sum()):
            raise CheckFailure(f"mask{what} keeps the wrong number of entries",
                               f"kept {int(mask.sum())} of {w.numel()}, expected {int(exp_mask.sum())}")
    assert_tensor(mask, exp_mask, rtol=0, atol=0, what=f"mask{what}")
    assert_tensor(pruned, exp_pruned, rtol=0, atol=0, what=f"pruned{what}")


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_random_weights(submission, device, dtype):
    w = randn(3, 5, 7, seed=1301, dtype=dtype, device=device)
    assert_pruned(submission.prune(w, 0.4), w, 0.4)


@check(points=1)
def test_magnitude_not_value(submission, device):
    # Large negative weights are important: sorting w instead of |w| prunes them first.
    w = randn(6, 9, seed=1302, device=device) - 1.5
    assert_pruned(submission.prune(w, 0.3), w, 0.3)


@check(points=2)
def test_ties_broken_by_flat_index(submission, device):
    # Integer-valued weights: every magnitude is shared by many entries (±), and the cut at k
    # falls inside a group of equals, so only the flat-index rule decides which ones go.
    g = torch.Generator().manual_seed(1303)
    w = torch.randint(-3, 4, (8, 11), generator=g).to(torch.float32).to(device)
    for sparsity in (0.2, 0.45, 0.7):
        assert_pruned(submission.prune(w, sparsity), w, sparsity, what=f" at sparsity {sparsity}")


@check(points=1)
def test_ties_in_float64_three_dims(submission, device):
    # Five magnitudes over 90 entries of a (2, 5, 9) tensor: flat index runs over all three dimensions.
    g = torch.Generator().manual_seed(1304)
    w = torch.randint(-2, 3, (2, 5, 9), generator=g).to(torch.float64).to(device)
    assert_pruned(submission.prune(w, 0.5), w, 0.5)


@check(points=1)
def test_count_rounds_halves_to_even(submission, device):
    # 10 entries: 0.25 → round(2.5) = 2, 0.35 → round(3.5) = 4, 0.05 → round(0.5) = 0.
    w = randn(2, 5, seed=1305, device=device)
    for sparsity in (0.25, 0.35, 0.05):
        assert_pruned(submission.prune(w, sparsity), w, sparsity, what=f" at sparsity {sparsity}")


@check(points=1)
def test_count_rounds_to_nearest(submission, device):
    # 7 entries: 0.3 → round(2.1) = 2, 0.6 → round(4.2) = 4, 0.9 → round(6.3) = 6, 0.95 → round(6.65) = 7.
    w = randn(7, seed=1306, device=device)
    for sparsity in (0.3, 0.6, 0.9, 0.95):
        assert_pruned(submission.prune(w, sparsity), w, sparsity, what=f" at sparsity {sparsity}")


@check(points=1)
def test_sparsity_zero_and_one(submission, device):
    w = randn(4, 3, seed=1307, dtype=torch.float64, device=device)
    assert_pruned(submission.prune(w, 0.0), w, 0.0, what=" at sparsity 0")
    assert_pruned(submission.prune(w, 1.0), w, 1.0, what=" at sparsity 1")


@check(points=1)
def test_any_shape(submission, device):
    for shape, sparsity, seed in (((13,), 0.5, 1308), ((2, 3, 4, 5), 0.8, 1309), ((1, 1), 0.3, 1311)):
        w = randn(*shape, seed=seed, device=device)
        assert_pruned(submission.prune(w, sparsity), w, sparsity, what=f" for shape {shape}")
    w = torch.tensor(-0.7, device=device)  # 0-d: one entry, pruned from sparsity 0.5 up (round(0.6) = 1)
    for sparsity in (0.4, 0.6):
        assert_pruned(submission.prune(w, sparsity), w, sparsity, what=f" for a 0-d tensor at sparsity {sparsity}")


@check(points=1)
def test_empty_tensor(submission, device):
    w = randn(0, 4, seed=1312, device=device)
    assert_pruned(submission.prune(w, 0.5), w, 0.5)


@check(points=1)
def test_kept_values_are_exact(submission, device):
    # Values over many orders of magnitude, some tiny: kept entries come back bit for bit, pruned are 0.
    w = randn(5, 8, seed=1313, dtype=torch.float64, device=device) * torch.logspace(-12, 12, 8, dtype=torch.float64,
                                                                                     device=device)
    assert_pruned(submission.prune(w, 0.55), w, 0.55)
