"""Hidden checks for sgd_step: several steps against a live torch.optim.SGD, every option, dtypes, layouts."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn

DTYPES = [torch.float32, torch.float64]
# After a few steps of a handful of elementwise ops, float32 stays within a few ulps of torch's fused
# add (1e-5 relative, 1e-6 absolute for entries near 0); float64 within 1e-12.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-14)}


def against_torch(submission, param0: torch.Tensor, grads: list[torch.Tensor], lr: float, **options) -> None:
    """Run the student's steps and torch.optim.SGD side by side; compare param and buffer after each."""
    p = torch.nn.Parameter(param0.clone())
    opt = torch.optim.SGD([p], lr=lr, **options)
    momentum = options.get("momentum", 0.0)
    tol = TOL[param0.dtype]
    param, buf = param0, None
    for step, grad in enumerate(grads, start=1):
        p.grad = grad.clone()
        opt.step()
        param, buf = assert_tuple(submission.sgd_step(param, grad, buf, lr, **options), 2)
        assert_tensor(param, p.detach(), **tol, what=f"param after step {step}")
        if momentum == 0:
            if buf is not None:
                raise CheckFailure("the buffer should be None without momentum")
        else:
            assert_tensor(buf, opt.state[p]["momentum_buffer"], **tol, what=f"buffer after step {step}")


def seeded(shape: tuple, seed: int, dtype=torch.float32, device="cpu", scale: float = 1.0) -> torch.Tensor:
    """``randn`` for any shape, 0-d included."""
    return randn(max(1, torch.Size(shape).numel()), seed=seed, dtype=dtype, device=device, scale=scale).reshape(shape)


def grads_for(shape: tuple, steps: int, seed: int, dtype, device) -> list[torch.Tensor]:
    return [seeded(shape, seed + k, dtype, device) for k in range(steps)]


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_plain_sgd(submission, device, dtype):
    param = randn(5, 7, seed=301, dtype=dtype, device=device)
    against_torch(submission, param, grads_for((5, 7), 4, 310, dtype, device), lr=0.05)


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_momentum(submission, device, dtype):
    param = randn(6, 4, seed=302, dtype=dtype, device=device)
    against_torch(submission, param, grads_for((6, 4), 6, 320, dtype, device), lr=0.1, momentum=0.9)


@check(points=1)
def test_nesterov(submission, device):
    param = randn(3, 8, seed=303, dtype=torch.float64, device=device)
    against_torch(submission, param, grads_for((3, 8), 5, 330, torch.float64, device), lr=0.03,
                  momentum=0.8, nesterov=True)


@check(points=1)
def test_weight_decay_without_momentum(submission, device):
    param = randn(11, seed=304, dtype=torch.float64, device=device, scale=3.0)
    against_torch(submission, param, grads_for((11,), 4, 340, torch.float64, device), lr=0.2, weight_decay=0.1)


@check(points=1)
def test_weight_decay_with_momentum(submission, device):
    # Weight decay goes into the gradient before the buffer: decoupled decay differs here.
    param = randn(4, 9, seed=305, dtype=torch.float64, device=device, scale=2.0)
    against_torch(submission, param, grads_for((4, 9), 5, 350, torch.float64, device), lr=0.1,
                  momentum=0.7, weight_decay=0.05)


@check(points=1)
def test_everything_together_float32(submission, device):
    param = randn(2, 3, 5, seed=306, device=device)
    against_torch(submission, param, grads_for((2, 3, 5), 5, 360, torch.float32, device), lr=0.01,
                  momentum=0.95, weight_decay=1e-3, nesterov=True)


@check(points=1)
def test_defaults_are_plain_sgd(submission, device):
    # Only (param, grad, buf, lr): momentum 0, no weight decay, no Nesterov, and no buffer.
    param, grad = randn(7, seed=307, device=device), randn(7, seed=308, device=device)
    new_param, buf = assert_tuple(submission.sgd_step(param, grad, None, 0.25), 2)
    assert_tensor(new_param, param - 0.25 * grad, rtol=1e-6, atol=1e-7, what="new_param")
    if buf is not None:
        raise CheckFailure("the buffer should be None without momentum")


@check(points=1)
@pytest.mark.parametrize("shape", [(), (1,)], ids=["0d", "1"])
def test_tiny_parameters(submission, device, shape):
    param = seeded(shape, 309, torch.float64, device)
    against_torch(submission, param, grads_for(shape, 3, 370, torch.float64, device), lr=0.5, momentum=0.5)


@check(points=1)
def test_non_contiguous(submission, device):
    param = randn(8, 6, seed=311, device=device).t()  # (6, 8), transposed view
    grads = [g.t() for g in grads_for((8, 6), 3, 380, torch.float32, device)]
    against_torch(submission, param, grads, lr=0.1, momentum=0.9, weight_decay=0.01)


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares param, grad and buf after the call with what was sent.
    param, grad, buf = (randn(10, seed=312 + k, device=device) for k in range(3))
    submission.sgd_step(param, grad, buf, 0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
