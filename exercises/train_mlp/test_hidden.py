"""Hidden checks for train_mlp: float32, a single step, XOR, two outputs, a batch of one, strided starts.

The oracles and the dependency checks are the public file's (test_public.py ships with every
release, so the hidden checks can lean on it); only the problems here are hidden.
"""

import importlib.util
from pathlib import Path

import torch

from grader.checks import check, randn

_spec = importlib.util.spec_from_file_location("train_mlp_public_checks", Path(__file__).with_name("test_public.py"))
public = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public)

# float64 histories agree to ~1e-14 after hundreds of steps; float32 ones to ~5e-6 after 200
# (measured), so 1e-3 relative for float32 still separates every mistake in the wrong answers.
F64 = dict(rtol=1e-9, atol=1e-12)
F32 = dict(rtol=1e-3, atol=1e-5)


def start_for(d_in: int, d_hidden: int, d_out: int, seed: int, dtype=torch.float64, device="cpu"):
    kw = dict(dtype=dtype, device=device)
    return (randn(d_in, d_hidden, seed=seed, **kw), randn(d_hidden, seed=seed + 1, scale=0.1, **kw),
            randn(d_hidden, d_out, seed=seed + 2, **kw), randn(d_out, seed=seed + 3, scale=0.1, **kw))


def train_and_compare(submission, device, x, y, start, steps, lr, tol, classify: bool):
    losses, params = public.train(submission, device, x, y, start, steps, lr)
    expected_losses, expected_params = public.reference_training(x, y, start, steps, lr)
    public.compare_history(losses, expected_losses, **tol)
    public.compare_params(params, expected_params, **tol)
    if classify:
        public.check_classifies(submission, x, y, params)


@check(points=1)
def test_toy_problem_float32(submission, device):
    x, y, start = public.toy_problem(torch.float32, device)
    train_and_compare(submission, device, x, y, start, 200, 0.1, F32, classify=True)


@check(points=1)
def test_single_step(submission, device):
    # One step: losses holds only the starting loss, and each parameter moves by one Adam update (t = 1).
    x = randn(6, 4, seed=601, dtype=torch.float64, device=device)
    y = (randn(6, 2, seed=602, dtype=torch.float64, device=device) > 0).double()
    train_and_compare(submission, device, x, y, start_for(4, 3, 2, 603, device=device), 1, 0.05, F64,
                      classify=False)


@check(points=1)
def test_xor(submission, device):
    # Not linearly separable: the hidden layer has to do the work.
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64, device=device)
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=torch.float64, device=device)
    train_and_compare(submission, device, x, y, start_for(2, 5, 1, 402, device=device), 300, 0.1, F64,
                      classify=True)


@check(points=1)
def test_two_outputs(submission, device):
    # 40 points in 3-d, two independent labels: the loss averages over batch · d_out entries.
    x = randn(40, 3, seed=410, dtype=torch.float64, device=device)
    y = torch.stack([x[:, 0] + x[:, 1] > 0, x[:, 2] > 0.3], dim=1).double()
    train_and_compare(submission, device, x, y, start_for(3, 6, 2, 412, device=device), 150, 0.1, F64,
                      classify=True)


@check(points=1)
def test_batch_of_one(submission, device):
    x = torch.tensor([[0.3, -1.2]], dtype=torch.float64, device=device)
    y = torch.tensor([[1.0]], dtype=torch.float64, device=device)
    train_and_compare(submission, device, x, y, start_for(2, 3, 1, 420, device=device), 10, 0.1, F64,
                      classify=True)


@check(points=1)
def test_non_contiguous_start(submission, device):
    # Transposed and strided views as the starting parameters and inputs.
    x = randn(3, 14, seed=701, dtype=torch.float64, device=device).t()[::2]  # (7, 3)
    y = (x[:, :1] > 0).double()
    W1 = randn(5, 3, seed=702, dtype=torch.float64, device=device).t()  # (3, 5)
    W2 = randn(1, 5, seed=703, dtype=torch.float64, device=device).t()  # (5, 1)
    b1 = randn(10, seed=704, dtype=torch.float64, device=device, scale=0.1)[::2]  # (5,)
    b2 = torch.zeros(1, dtype=torch.float64, device=device)
    train_and_compare(submission, device, x, y, (W1, b1, W2, b2), 40, 0.05, F64, classify=False)
