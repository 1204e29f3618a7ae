"""Hidden checks for rope: pair layout, positions, theta, dtypes, shapes, unchanged inputs."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, check, randn

# The oracle is written with complex numbers in float64 and cast to the input dtype. A float32
# answer computes its angles in float32: at positions up to ~2000 that costs ~3e-5 absolute on
# O(1) values (measured), so float32 gets 2e-4. float64 angles at positions up to 1e5 are within
# ~1e-12, so float64 gets 1e-10 (float32 angles there would be off by ~1e-3).
TOL = {torch.float32: dict(rtol=1e-4, atol=2e-4), torch.float64: dict(rtol=1e-10, atol=1e-10)}


def reference(x: torch.Tensor, positions: torch.Tensor, theta: float = 10000.0) -> torch.Tensor:
    """Adjacent pairs as complex numbers times e^{i·angle}, in float64, cast back to x's dtype."""
    d = x.shape[-1]
    freq = theta ** (-torch.arange(d // 2, dtype=torch.float64, device=x.device) * 2 / d)
    angle = positions.to(torch.float64)[:, None] * freq  # (T, d/2)
    pairs = torch.view_as_complex(x.to(torch.float64).reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(pairs * torch.polar(torch.ones_like(angle), angle)).flatten(-2).to(x.dtype)


def positions_for(t: int, seed: int, high: int, device) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, high, (t,), generator=g).to(device)


@check(points=2)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_values_match_complex_reference(submission, device, dtype):
    x = randn(2, 3, 5, 12, seed=901, dtype=dtype, device=device)  # (B, H, T, d)
    positions = torch.arange(5, device=device)
    assert_tensor(submission.rope(x, positions), reference(x, positions), **TOL[dtype])


@check(points=1)
def test_positions_are_used(submission, device):
    # Positions continue from an offset and are not sorted, as in a cache or a packed batch.
    x = randn(4, 7, 8, seed=902, device=device)
    positions = torch.tensor([100, 3, 57, 58, 1999, 0, 42], device=device)
    assert_tensor(submission.rope(x, positions), reference(x, positions), **TOL[torch.float32])


@check(points=1)
def test_large_positions_float64(submission, device):
    # Positions up to 1e5: angles computed in float32 are off by ~1e-3 here.
    x = randn(2, 6, 16, seed=903, dtype=torch.float64, device=device)
    positions = positions_for(6, 904, 100_000, device)
    assert_tensor(submission.rope(x, positions), reference(x, positions), **TOL[torch.float64])


@check(points=1)
def test_theta_is_used(submission, device):
    x = randn(3, 9, 10, seed=905, dtype=torch.float64, device=device)
    positions = positions_for(9, 906, 500, device)
    assert_tensor(submission.rope(x, positions, theta=500000.0), reference(x, positions, theta=500000.0),
                  **TOL[torch.float64])


@check(points=1)
def test_shapes(submission, device):
    for shape in [(4, 2), (1, 1, 6), (2, 3, 1, 4, 6)]:
        x = randn(*shape, seed=907, device=device)
        positions = positions_for(shape[-2], 908, 64, device)
        assert_tensor(submission.rope(x, positions), reference(x, positions), **TOL[torch.float32],
                      what=f"result for shape {shape}")


@check(points=1)
def test_non_contiguous_input(submission, device):
    x = randn(3, 8, 5, seed=909, device=device).transpose(-2, -1)  # (3, 5, 8), strided
    positions = torch.arange(5, device=device) + 10
    assert_tensor(submission.rope(x, positions), reference(x, positions), **TOL[torch.float32])


@check(points=1)
def test_relative_position_property(submission, device):
    # <rope(q, m), rope(k, n)> depends only on m - n: shifting every position by 37 keeps the scores.
    q = randn(6, 8, seed=910, dtype=torch.float64, device=device)
    k = randn(6, 8, seed=911, dtype=torch.float64, device=device)
    pos = torch.arange(6, device=device)
    scores = submission.rope(q, pos) @ submission.rope(k, pos).T
    shifted = submission.rope(q, pos + 37) @ submission.rope(k, pos + 37).T
    assert_tensor(shifted, scores, rtol=1e-10, atol=1e-10, what="attention scores after a shift")
    if torch.allclose(scores, q @ k.T):
        raise CheckFailure("the rotation does not change the attention scores")


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    x = randn(2, 4, 6, seed=912, device=device)
    submission.rope(x, torch.arange(4, device=device) + 5)
