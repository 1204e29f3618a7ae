"""Hidden checks for lora_linear: dtypes, the alpha / r scale, shapes, ranks and the zero adapter."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# Sums of at most a dozen products of unit normals: float32 within 2e-5, float64 within 1e-12.
TOL = {torch.float32: dict(rtol=2e-5, atol=2e-5), torch.float64: dict(rtol=1e-12, atol=1e-12)}


def oracle(x, W, A, B, alpha):
    return F.linear(x, W) + (alpha / A.shape[0]) * F.linear(F.linear(x, A), B)


def layer(lead: tuple, n_in: int, n_out: int, r: int, seed: int, dtype=torch.float32, device="cpu"):
    return (randn(*lead, n_in, seed=seed, dtype=dtype, device=device),
            randn(n_out, n_in, seed=seed + 1, dtype=dtype, device=device),
            randn(r, n_in, seed=seed + 2, dtype=dtype, device=device),
            randn(n_out, r, seed=seed + 3, dtype=dtype, device=device))


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values(submission, device, dtype):
    x, W, A, B = layer((3, 4), 9, 7, 3, seed=1510, dtype=dtype, device=device)
    assert_tensor(submission.lora_linear(x, W, A, B, 5.0), oracle(x, W, A, B, 5.0), **TOL[dtype])


@check(points=2)
def test_scale_is_alpha_over_rank(submission, device):
    # r = 3 and alpha = 8: alpha, alpha·r, alpha // r and no scale all give other numbers.
    x, W, A, B = layer((5,), 6, 4, 3, seed=1520, dtype=torch.float64, device=device)
    for alpha in (8.0, 1.0, 32):
        assert_tensor(submission.lora_linear(x, W, A, B, alpha), oracle(x, W, A, B, alpha), **TOL[torch.float64],
                      what=f"result for alpha={alpha}")


@check(points=1)
def test_zero_adapter_is_the_frozen_layer(submission, device):
    x, W, A, B = layer((2, 3), 8, 5, 4, seed=1530, device=device)
    B = torch.zeros_like(B)  # LoRA's initialisation
    assert_tensor(submission.lora_linear(x, W, A, B, 16.0), F.linear(x, W), **TOL[torch.float32])


@check(points=1)
def test_one_dimensional_input(submission, device):
    x, W, A, B = layer((), 10, 6, 2, seed=1540, device=device)
    assert_tensor(submission.lora_linear(x, W, A, B, 4.0), oracle(x, W, A, B, 4.0), **TOL[torch.float32])


@check(points=1)
def test_four_dimensional_input(submission, device):
    x, W, A, B = layer((2, 3, 1, 4), 5, 3, 2, seed=1550, dtype=torch.float64, device=device)
    assert_tensor(submission.lora_linear(x, W, A, B, 2.0), oracle(x, W, A, B, 2.0), **TOL[torch.float64])


@check(points=1)
def test_rank_one(submission, device):
    x, W, A, B = layer((4,), 7, 9, 1, seed=1560, device=device)
    assert_tensor(submission.lora_linear(x, W, A, B, 3.0), oracle(x, W, A, B, 3.0), **TOL[torch.float32])


@check(points=1)
def test_wide_and_tall_layers(submission, device):
    # out > in and out < in: every transpose mistake changes the shape or the numbers.
    for n_in, n_out, seed in ((3, 11, 1570), (12, 2, 1580)):
        x, W, A, B = layer((2,), n_in, n_out, 2, seed=seed, dtype=torch.float64, device=device)
        assert_tensor(submission.lora_linear(x, W, A, B, 6.0), oracle(x, W, A, B, 6.0), **TOL[torch.float64],
                      what=f"result for in={n_in}, out={n_out}")


@check(points=1)
def test_alpha_zero_and_batch_of_one(submission, device):
    x, W, A, B = layer((1, 1), 6, 5, 2, seed=1590, device=device)
    assert_tensor(submission.lora_linear(x, W, A, B, 0.0), F.linear(x, W), **TOL[torch.float32])
