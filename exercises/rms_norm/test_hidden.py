"""Hidden checks for rms_norm: dtypes, eps, no centring, dims, shapes and unchanged inputs."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# Results are O(|weight|): float32 within 1e-5 (a mean of squares, a root and two products, each
# a few ulps); float64 within 1e-10. The oracle is the formula in float64, cast to the input dtype.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}


def reference(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    x64 = x.to(torch.float64)
    return (x64 / torch.sqrt(x64.pow(2).mean(dim=-1, keepdim=True) + eps) * weight.to(torch.float64)).to(x.dtype)


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values_match_formula(submission, device, dtype):
    x = randn(3, 5, 7, seed=501, dtype=dtype, device=device, scale=3.0)
    w = randn(7, seed=502, dtype=dtype, device=device)
    assert_tensor(submission.rms_norm(x, w), reference(x, w), **TOL[dtype])


@check(points=1)
def test_matches_torch_rms_norm(submission, device):
    # A second, independent oracle where torch has one (torch >= 2.4).
    if not hasattr(F, "rms_norm"):
        pytest.skip("this torch has no torch.nn.functional.rms_norm")
    x = randn(4, 6, 10, seed=503, dtype=torch.float64, device=device)
    w = randn(10, seed=504, dtype=torch.float64, device=device)
    assert_tensor(submission.rms_norm(x, w, 1e-6), F.rms_norm(x, (10,), w, eps=1e-6), **TOL[torch.float64])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_small_values_eps_inside_root(submission, device, dtype):
    # Mean square ~1e-6 against eps = 1e-5: eps inside or outside the root differ by far more than rounding.
    x = randn(4, 16, seed=505, dtype=dtype, device=device, scale=1e-3)
    w = randn(16, seed=506, dtype=dtype, device=device)
    assert_tensor(submission.rms_norm(x, w), reference(x, w), **TOL[dtype])


@check(points=1)
def test_eps_argument_is_used(submission, device):
    x = randn(5, 9, seed=507, dtype=torch.float64, device=device, scale=0.5)
    w = randn(9, seed=508, dtype=torch.float64, device=device)
    assert_tensor(submission.rms_norm(x, w, eps=0.25), reference(x, w, eps=0.25), **TOL[torch.float64])


@check(points=1)
def test_no_mean_is_subtracted(submission, device):
    # Rows with a large common offset: RMS norm keeps it (layer norm would remove it).
    x = randn(3, 6, seed=509, dtype=torch.float64, device=device) + 4.0
    w = randn(6, seed=510, dtype=torch.float64, device=device)
    assert_tensor(submission.rms_norm(x, w), reference(x, w), **TOL[torch.float64])


@check(points=1)
def test_mean_not_sum_of_squares(submission, device):
    # A long last dimension: dividing by the root of the sum instead of the mean shrinks by sqrt(d).
    x = randn(2, 100, seed=511, dtype=torch.float64, device=device)
    w = torch.ones(100, dtype=torch.float64, device=device)
    assert_tensor(submission.rms_norm(x, w), reference(x, w), **TOL[torch.float64])


@check(points=1)
def test_shapes(submission, device):
    for shape in [(10,), (1, 6), (2, 3, 4, 5), (7, 1)]:
        x = randn(*shape, seed=512, device=device, scale=2.0)
        w = randn(shape[-1], seed=513, device=device)
        assert_tensor(submission.rms_norm(x, w), reference(x, w), **TOL[torch.float32],
                      what=f"result for shape {shape}")


@check(points=1)
def test_non_contiguous_input(submission, device):
    x = randn(12, 5, seed=514, device=device, scale=2.0).t()[:, ::2]  # (5, 6), strided
    w = randn(6, seed=515, device=device)
    assert_tensor(submission.rms_norm(x, w), reference(x, w), **TOL[torch.float32])


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    x = randn(4, 5, seed=516, device=device)
    submission.rms_norm(x, randn(5, seed=517, device=device))
