"""Hidden checks for grad_accumulation: the gradient itself, uneven splits, empty micro-batches, several steps.

The oracles and the dependency check are the public file's (test_public.py ships with every
release, so the hidden checks can lean on it); only the problems here are hidden.
"""

import importlib.util
from pathlib import Path

import torch

from grader.checks import CheckFailure, assert_tensor, check, randn

_spec = importlib.util.spec_from_file_location("grad_accumulation_public_checks",
                                               Path(__file__).with_name("test_public.py"))
public = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public)
NAMES, micro_batch, model = public.NAMES, public.micro_batch, public.model

# float64: the same sums in another order over a few steps agree to ~1e-15; 1e-10 leaves room and
# still separates every weighting mistake (they err by 1e-3 or more). float32: ~1e-7 relative per
# step, 1e-5 leaves room.
F64 = dict(rtol=1e-10, atol=1e-12)
F32 = dict(rtol=1e-5, atol=1e-6)


def compare(submission, device, params, batches, lr, tol, ignore_index=None):
    public.compare_training(submission, device, params, batches, lr, **tol, ignore_index=ignore_index)


@check(points=2)
def test_gradient_equals_full_batch(submission, device):
    # One step: the accumulated gradient is (start - trained) / lr, compared with torch autograd on
    # the whole batch at once. Micro-batches of 1, 3 and 2 sequences of lengths 5, 9 and 4, padded.
    V, d, lr = 9, 5, 0.5
    params = model(V, d, seed=601, device=device)
    batch = [micro_batch(1, 5, V, seed=602, device=device),
             micro_batch(3, 9, V, seed=603, lengths=[9, 2, 6], device=device),
             micro_batch(2, 4, V, seed=604, lengths=[4, 1], device=device)]
    losses, new = public.train(submission, device, params, [batch], lr)
    expected_loss, grads = public.full_batch_gradients(params, batch)
    for n in NAMES:
        if type(new[n]) is not torch.Tensor or new[n].shape != params[n].shape or new[n].dtype != params[n].dtype:
            assert_tensor(new[n], params[n], **F64, what=f"trained {n}")  # fails, naming the type, shape or dtype
        # (p - (p - lr g)) / lr: float64 rounding of p (|p| ~ 1) costs ~4e-16 / lr absolute.
        assert_tensor((params[n] - new[n]) / lr, grads[n], rtol=1e-9, atol=1e-12,
                      what=f"the accumulated gradient of {n}")
    assert_tensor(losses, expected_loss.reshape(1), **F64, what="losses")


@check(points=1)
def test_float32(submission, device):
    V, d = 11, 6
    params = model(V, d, seed=611, dtype=torch.float32, device=device)
    steps = [[micro_batch(2, 7, V, seed=612, lengths=[7, 3], device=device),
              micro_batch(1, 4, V, seed=613, device=device)],
             [micro_batch(3, 5, V, seed=614, lengths=[5, 2, 4], device=device)]]
    compare(submission, device, params, steps, 0.3, F32)


@check(points=1)
def test_single_micro_batch(submission, device):
    # One micro-batch per step is the full batch itself: accumulation must not change anything.
    V, d = 8, 3
    params = model(V, d, seed=621, device=device)
    steps = [[micro_batch(4, 6, V, seed=622 + s, lengths=[6, 5, 2, 6], device=device)] for s in range(3)]
    compare(submission, device, params, steps, 0.4, F64)


@check(points=1)
def test_one_sequence_per_micro_batch(submission, device):
    # Five micro-batches of one sequence each, of lengths 2 to 10: the real-token counts differ
    # five-fold, so any weighting other than n_i / N shows.
    V, d = 6, 4
    params = model(V, d, seed=631, device=device)
    batch = [micro_batch(1, T, V, seed=632 + T, device=device) for T in (10, 2, 7, 3, 5)]
    compare(submission, device, params, [batch], 0.5, F64)


@check(points=1)
def test_same_batch_split_differently(submission, device):
    # The same eight sequences as one micro-batch, two, or eight: the same loss and the same step.
    V, d = 10, 4
    params = model(V, d, seed=641, device=device)
    whole = micro_batch(8, 7, V, seed=642, lengths=[7, 2, 5, 7, 3, 6, 2, 4], device=device)
    splits = {"one": [whole],
              "two": [{k: v[:3] for k, v in whole.items()}, {k: v[3:] for k, v in whole.items()}],
              "eight": [{k: v[i:i + 1] for k, v in whole.items()} for i in range(8)]}
    for name, batch in splits.items():
        try:
            compare(submission, device, params, [batch], 0.5, F64)
        except CheckFailure as exc:
            raise CheckFailure(f"{exc.summary} with the batch split into {name} micro-batch(es)", exc.detail) from None


@check(points=1)
def test_micro_batch_without_real_target(submission, device):
    # The second micro-batch is all padding (only labels[:, 0] real, never a target): n_i = 0. It
    # contributes nothing, and its NaN mean must not reach the loss or the gradient.
    V, d = 7, 3
    params = model(V, d, seed=651, device=device)
    batch = [micro_batch(2, 6, V, seed=652, lengths=[6, 4], device=device),
             micro_batch(3, 5, V, seed=653, lengths=[1, 0, 1], device=device),
             micro_batch(1, 3, V, seed=654, device=device)]
    compare(submission, device, params, [batch, batch[::-1]], 0.5, F64)


@check(points=2)
def test_several_steps(submission, device):
    # Four steps with 3, 1, 4 and 2 micro-batches: each step starts its accumulation from zero and
    # updates once.
    V, d = 9, 4
    params = model(V, d, seed=661, device=device)
    shapes = [[(2, 5, [5, 3]), (1, 8, None), (3, 4, [4, 2, 1])], [(2, 6, [6, 6])],
              [(1, 3, None), (2, 7, [2, 7]), (1, 5, [3]), (3, 3, None)], [(4, 6, [6, 1, 4, 5]), (1, 2, None)]]
    steps, seed = [], 662
    for step in shapes:
        steps.append([])
        for B, T, lengths in step:
            seed += 1
            steps[-1].append(micro_batch(B, T, V, seed=seed, lengths=lengths, device=device))
    compare(submission, device, params, steps, 0.5, F64)


@check(points=1)
def test_pad_id_as_ignore_index(submission, device):
    # The pad id 0 is both the input at padding and the ignore index: no label equal to 0 is learned.
    V, d = 8, 3
    params = model(V, d, seed=671, device=device)
    batch = [micro_batch(2, 6, V, seed=672, lengths=[6, 3], ignore_index=0, device=device),
             micro_batch(3, 4, V, seed=673, lengths=[2, 4, 3], ignore_index=0, device=device)]
    compare(submission, device, params, [batch, batch], 0.5, F64, ignore_index=0)


@check(points=1)
def test_non_contiguous_params(submission, device):
    # Transposed and strided views as the starting parameters, and strided micro-batch tensors.
    V, d = 7, 4
    f64 = dict(dtype=torch.float64, device=device)
    params = {"embed": randn(d, V, seed=681, **f64).t(), "unembed": randn(d, V, seed=682, **f64).t(),
              "bias": randn(2 * V, seed=683, scale=0.1, **f64)[::2]}
    big = micro_batch(6, 5, V, seed=684, lengths=[5, 5, 3, 3, 4, 4], device=device)
    batch = [{k: v[::2] for k, v in big.items()}, {k: v[1::2] for k, v in big.items()}]
    compare(submission, device, params, [batch], 0.5, F64)


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument (the params and each micro-batch) after the call.
    V, d = 5, 3
    params = model(V, d, seed=691, device=device)
    batch = [micro_batch(2, 4, V, seed=692, lengths=[4, 2], device=device), micro_batch(1, 3, V, seed=693, device=device)]
    public.train(submission, device, params, [batch, batch], 0.5)
