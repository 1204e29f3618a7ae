"""Hidden checks for softmax: dims, dtypes, extreme and -inf entries, shapes and unchanged inputs."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# float32: exp and a sum over at most a few hundred terms stay within ~1e-6 relative of torch;
# float64: 1e-12 relative, which any max-subtracted formula meets. atol covers tiny weights.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-7), torch.float64: dict(rtol=1e-12, atol=1e-15)}


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values_match_torch(submission, device, dtype):
    x = randn(3, 4, 5, seed=201, dtype=dtype, device=device, scale=4.0)
    assert_tensor(submission.softmax(x, dim=-1), torch.softmax(x, dim=-1), **TOL[dtype])


@check(points=1)
@pytest.mark.parametrize("dim", [0, 1, -2], ids=["dim0", "dim1", "dim-2"])
def test_other_dims(submission, device, dim):
    # Every dimension a different size, so normalising or summing along the wrong one shows.
    x = randn(3, 4, 5, seed=202, device=device, scale=2.0)
    assert_tensor(submission.softmax(x, dim=dim), torch.softmax(x, dim=dim), **TOL[torch.float32],
                  what=f"result for dim={dim}")


@check(points=1)
def test_default_dim_is_last(submission, device):
    x = randn(2, 7, seed=203, device=device)
    assert_tensor(submission.softmax(x), torch.softmax(x, dim=-1), **TOL[torch.float32])


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_large_inputs_are_stable(submission, device, dtype):
    # Entries of ±1e4: exp overflows unless the maximum is subtracted first.
    x = randn(5, 6, seed=204, dtype=dtype, device=device, scale=1e4)
    x[0] = torch.tensor([1e4, 1e4 - 1, 1e4 - 2, 0.0, -1e4, 3.0], dtype=dtype)
    assert_tensor(submission.softmax(x, dim=-1), torch.softmax(x, dim=-1), **TOL[dtype])


@check(points=1)
def test_each_slice_has_its_own_maximum(submission, device):
    # One row near +1e4 and one near -1e4: subtracting a single global maximum underflows the second.
    x = randn(2, 8, seed=205, dtype=torch.float64, device=device)
    x[0] += 1e4
    x[1] -= 1e4
    assert_tensor(submission.softmax(x, dim=1), torch.softmax(x, dim=1), **TOL[torch.float64])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_negative_infinity_entries(submission, device, dtype):
    # -inf entries (a masked position) get weight exactly 0; every row keeps a finite entry.
    x = randn(4, 5, seed=206, dtype=dtype, device=device)
    x[0, 1] = x[1, 0] = x[1, 4] = x[3, :4] = float("-inf")
    y = submission.softmax(x, dim=-1)
    assert_tensor(y, torch.softmax(x, dim=-1), **TOL[dtype])
    if bool((y[torch.isinf(x)] != 0).any()):
        raise CheckFailure("-inf entries get a non-zero weight")


@check(points=1)
def test_small_and_odd_shapes(submission, device):
    for shape, dim in [((7,), 0), ((1, 6), -1), ((4, 1), -1), ((2, 1, 3, 1, 5), 2), ((3, 4), 0)]:
        x = randn(*shape, seed=207, device=device, scale=2.0)
        assert_tensor(submission.softmax(x, dim=dim), torch.softmax(x, dim=dim), **TOL[torch.float32],
                      what=f"result for shape {shape}, dim={dim}")


@check(points=1)
def test_non_contiguous_input(submission, device):
    x = randn(6, 10, seed=208, device=device, scale=3.0).t()[::2]  # (5, 6), strided
    assert_tensor(submission.softmax(x, dim=-1), torch.softmax(x, dim=-1), **TOL[torch.float32])


@check(points=1)
def test_sums_to_one_along_dim(submission, device):
    x = randn(9, 11, 13, seed=209, dtype=torch.float64, device=device, scale=20.0)
    y = submission.softmax(x, dim=1)
    assert_tensor(y.sum(dim=1), torch.ones(9, 13, dtype=torch.float64, device=device), rtol=0, atol=1e-12,
                  what="sum along dim")
    if bool((y < 0).any()):
        raise CheckFailure("result has negative entries")


@check(points=1)
def test_input_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    x = randn(8, 3, seed=210, device=device)
    submission.softmax(x, dim=0)
