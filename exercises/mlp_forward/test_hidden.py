"""Hidden checks for mlp_forward: dtypes, layouts, degenerate sizes, saturation, modified inputs."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# float32: the matmul's summation order differs between correct answers, ~1e-6 on y.
# float64: the same differences are ~1e-15; 1e-10 leaves room and still catches a float32 detour.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def _net(batch, d_in, d_hidden, d_out, seed, dtype=torch.float32, device="cpu"):
    """Seeded inputs and parameters; weights scaled by 1/sqrt(fan-in) so nothing saturates."""
    kw = dict(dtype=dtype, device=device)
    return (randn(batch, d_in, seed=seed, **kw),
            randn(d_in, d_hidden, seed=seed + 1, scale=d_in ** -0.5, **kw),
            randn(d_hidden, seed=seed + 2, **kw),
            randn(d_hidden, d_out, seed=seed + 3, scale=d_hidden ** -0.5, **kw),
            randn(d_out, seed=seed + 4, **kw))


def _oracle(x, W1, b1, W2, b2):
    return torch.sigmoid(torch.sigmoid(x @ W1 + b1) @ W2 + b2)


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values_match_torch(submission, device, dtype):
    args = _net(9, 7, 11, 4, seed=200, dtype=dtype, device=device)
    assert_tensor(submission.mlp_forward(*args), _oracle(*args), **TOL[dtype])


@check(points=1)
def test_square_layers(submission, device):
    # batch = d_in = d_hidden = d_out: a transposed weight or a bias added down the batch axis
    # no longer fails on shapes, it silently gives other numbers.
    args = _net(6, 6, 6, 6, seed=210, dtype=torch.float64, device=device)
    assert_tensor(submission.mlp_forward(*args), _oracle(*args), **TOL[torch.float64])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_batch_of_one(submission, device, dtype):
    args = _net(1, 5, 8, 3, seed=220, dtype=dtype, device=device)
    assert_tensor(submission.mlp_forward(*args), _oracle(*args), **TOL[dtype])


@check(points=1)
def test_single_output_unit(submission, device):
    args = _net(7, 4, 9, 1, seed=230, dtype=torch.float64, device=device)
    assert_tensor(submission.mlp_forward(*args), _oracle(*args), **TOL[torch.float64])


@check(points=1)
def test_one_example_one_output(submission, device):
    args = _net(1, 3, 5, 1, seed=235, device=device)
    assert_tensor(submission.mlp_forward(*args), _oracle(*args), **TOL[torch.float32])


@check(points=1)
def test_non_contiguous_inputs(submission, device):
    # Transposed views and a strided bias: .view() on these fails, matmul does not care.
    kw = dict(dtype=torch.float32, device=device)
    x = randn(6, 10, seed=240, **kw).t()                       # (10, 6), strides (1, 10)
    W1 = randn(8, 6, seed=241, scale=0.4, **kw).t()            # (6, 8)
    b1 = randn(16, seed=242, **kw)[::2]                        # (8,), stride 2
    W2 = randn(3, 8, seed=243, scale=0.35, **kw).t()           # (8, 3)
    b2 = randn(6, seed=244, **kw)[1::2]                        # (3,), stride 2
    assert_tensor(submission.mlp_forward(x, W1, b1, W2, b2), _oracle(x, W1, b1, W2, b2), **TOL[torch.float32])


def _saturating_net(dtype, device):
    """Integer-valued parameters whose pre-activations are exact in float32 and reach ±1550.

    First layer: z1 = 100·k + 50 for integers k, so |z1| >= 50 and h is 1 or below 2e-22; exp(-z1)
    overflows even in float64 for the largest. Output layer: integer weights give pre-activations
    near small integers in two columns and near ±1000 in the other two.
    """
    g = torch.Generator().manual_seed(250)
    x = torch.randint(-3, 4, (5, 3), generator=g)                        # (batch 5, d_in 3)
    W1 = torch.randint(-4, 5, (3, 8), generator=g) * 100                 # (d_in 3, d_hidden 8)
    b1 = torch.randint(-4, 5, (8,), generator=g) * 100 + 50              # (d_hidden 8,)
    W2 = torch.randint(-2, 3, (8, 4), generator=g)                       # (d_hidden 8, d_out 4)
    b2 = torch.tensor([0, 1000, -1000, 1])                               # (d_out 4,)
    return tuple(t.to(dtype=dtype, device=device) for t in (x, W1, b1, W2, b2))


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_saturated_activations(submission, device, dtype):
    args = _saturating_net(dtype, device)
    y = submission.mlp_forward(*args)
    # Absolute tolerance 1e-15 in float64: clamping z to ±20 "for stability" leaves σ(-20) = 2e-9
    # where the answer is 0 and is caught; float32 keeps its usual tolerance.
    tol = TOL[dtype] if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-15)
    assert_tensor(y, _oracle(*args), **tol)


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    args = _net(4, 6, 5, 2, seed=260, dtype=torch.float64, device=device)
    y = submission.mlp_forward(*args)
    if type(y) is not torch.Tensor or tuple(y.shape) != (4, 2):
        raise CheckFailure("result has the wrong type or shape")
