"""Hidden checks for swiglu: dtypes, leading dimensions, extreme gates, views, which weight gates."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# Matmuls over d_model and d_ff of order-1 terms: float32 agrees with the oracle to ~1e-6 relative
# (different summation orders); float64 to ~1e-15.
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def oracle(x, W1, W2, W3):
    return (F.silu(x @ W1.T) * (x @ W3.T)) @ W2.T


def weights(d_model, d_ff, seed, dtype, device, scale=1.0):
    W1 = randn(d_ff, d_model, seed=seed, dtype=dtype, device=device, scale=scale * d_model ** -0.5)
    W2 = randn(d_model, d_ff, seed=seed + 1, dtype=dtype, device=device, scale=d_ff ** -0.5)
    W3 = randn(d_ff, d_model, seed=seed + 2, dtype=dtype, device=device, scale=d_model ** -0.5)
    return W1, W2, W3


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_matrix_matches_torch(submission, device, dtype):
    x = randn(9, 12, seed=11, dtype=dtype, device=device)
    W1, W2, W3 = weights(12, 20, 12, dtype, device)
    assert_tensor(submission.swiglu(x, W1, W2, W3), oracle(x, W1, W2, W3), **TOL[dtype])


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_batch_and_time(submission, device, dtype):
    # (B, T, d_model) as in a transformer, every dimension a different size.
    x = randn(3, 5, 8, seed=21, dtype=dtype, device=device)
    W1, W2, W3 = weights(8, 14, 22, dtype, device)
    assert_tensor(submission.swiglu(x, W1, W2, W3), oracle(x, W1, W2, W3), **TOL[dtype])


@check(points=1)
def test_single_vector_and_single_row(submission, device):
    W1, W2, W3 = weights(7, 11, 31, torch.float64, device)
    for shape in [(7,), (1, 7), (1, 1, 7)]:
        x = randn(*shape, seed=32, dtype=torch.float64, device=device)
        assert_tensor(submission.swiglu(x, W1, W2, W3), oracle(x, W1, W2, W3), **TOL[torch.float64],
                      what=f"result for x of shape {shape}")


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_extreme_gates_are_finite(submission, device, dtype):
    # Gate pre-activations of several hundred either way: exp(z) overflows in float32 past ~88.
    x = randn(6, 10, seed=41, dtype=dtype, device=device, scale=100.0)
    W1, W2, W3 = weights(10, 16, 42, dtype, device, scale=3.0)
    expected = oracle(x, W1, W2, W3)
    assert bool(expected.isfinite().all())
    assert_tensor(submission.swiglu(x, W1, W2, W3), expected, **TOL[dtype])


@check(points=1)
def test_gate_and_value_are_not_interchangeable(submission, device):
    # W1 gates, W3 is gated: with W1 = 0 the gate is SiLU(0) = 0 and the result is exactly zero.
    x = randn(4, 6, seed=51, dtype=torch.float64, device=device)
    _, W2, W3 = weights(6, 9, 52, torch.float64, device)
    W1 = torch.zeros(9, 6, dtype=torch.float64, device=device)
    assert_tensor(submission.swiglu(x, W1, W2, W3), oracle(x, W1, W2, W3), rtol=0, atol=1e-12)
    W1 = randn(9, 6, seed=53, dtype=torch.float64, device=device)
    assert_tensor(submission.swiglu(x, W1, W2, W3), oracle(x, W1, W2, W3), **TOL[torch.float64])


@check(points=1)
def test_non_contiguous_inputs(submission, device):
    dtype = torch.float32
    x = randn(10, 5, seed=61, dtype=dtype, device=device).t()  # (5, 10), non-contiguous
    W1t, W2t, W3t = weights(10, 13, 62, dtype, device)
    W1, W2, W3 = W1t.t().contiguous().t(), W2t.t().contiguous().t(), W3t.t().contiguous().t()  # strided views
    assert not (x.is_contiguous() or W1.is_contiguous())
    assert_tensor(submission.swiglu(x, W1, W2, W3), oracle(x, W1, W2, W3), **TOL[dtype])


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    x = randn(3, 4, seed=71, device=device)
    submission.swiglu(x, *weights(4, 6, 72, torch.float32, device))
