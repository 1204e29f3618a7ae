"""Hidden checks for mixed_precision: skips on inf/NaN anywhere, growth and back-off, float16
overflow and underflow, fp32 master weights, shapes, views and types, against torch.amp.GradScaler."""

import importlib.util
import math
from pathlib import Path

import torch

from grader.checks import CheckFailure, assert_tuple, check, randn

# The oracles and comparisons are the public file's (test_public.py ships with every release).
_spec = importlib.util.spec_from_file_location("mixed_precision_public_checks",
                                               Path(__file__).with_name("test_public.py"))
public = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public)
NAMES, compare_found, compare_scaler_run = public.NAMES, public.compare_found, public.compare_scaler_run
compare_state, compare_tensors, compare_train_step = public.compare_state, public.compare_tensors, public.compare_train_step
scaler_run, scaler_state, tiny_model = public.scaler_run, public.scaler_state, public.tiny_model
torch_amp_run, torch_scaler_run, train_teacher_forced = public.torch_amp_run, public.torch_scaler_run, public.train_teacher_forced


def grads_for(shapes, steps, seed, device, scale=1.0):
    return [[randn(*s, seed=seed + 10 * t + i, device=device, scale=scale) for i, s in enumerate(shapes)]
            for t in range(steps)]


def params_for(shapes, seed, device):
    return [randn(*s, seed=seed + i, device=device) for i, s in enumerate(shapes)]


def run_and_compare(submission, params, grads, state, lr, momentum, compare_bufs=True):
    expected = torch_scaler_run(params, grads, state, lr, momentum)
    compare_scaler_run(scaler_run(submission, params, grads, state, lr, momentum), expected,
                       compare_bufs=compare_bufs)


# scaler_step -----------------------------------------------------------------------------------

SHAPES = [(4, 6), (5,), (2, 3, 7)]


@check(points=2)
def test_long_run_with_skips_and_growth(submission, device):
    # Fourteen steps, growth_interval 3: inf in the last tensor at step 4, NaN in the middle one at
    # step 9, -inf in the first at step 10; growth in between.
    params = params_for(SHAPES, 301, device)
    grads = grads_for(SHAPES, 14, 310, device, scale=1024.0)
    grads[3][2][1, 2, 5] = math.inf
    grads[8][1][3] = math.nan
    grads[9][0][3, 0] = -math.inf
    run_and_compare(submission, params, grads, scaler_state(1024.0, interval=3), 0.05, 0.9)


@check(points=1)
def test_nan_alone_skips(submission, device):
    # No inf anywhere, one NaN: isinf alone misses it.
    params = params_for(SHAPES, 401, device)
    grads = grads_for(SHAPES, 3, 410, device, scale=256.0)
    grads[1][2][0, 1, 1] = math.nan
    run_and_compare(submission, params, grads, scaler_state(256.0, interval=5), 0.1, 0.9)


@check(points=1)
def test_overflow_in_any_tensor_skips(submission, device):
    # One inf in one entry of one tensor, each tensor in turn (and -inf once): the flag covers all.
    for k, value in enumerate((math.inf, math.inf, -math.inf)):
        params = params_for(SHAPES, 501 + 10 * k, device)
        grads = grads_for(SHAPES, 2, 540 + 10 * k, device, scale=512.0)
        flat = grads[1][k].view(-1)
        flat[flat.numel() // 2] = value
        run_and_compare(submission, params, grads, scaler_state(512.0, interval=4), 0.1, 0.9)


@check(points=1)
def test_growth_after_interval(submission, device):
    # Nine good steps with growth_interval 4: the scale doubles after the 4th and the 8th, not before.
    params = params_for(SHAPES[:2], 601, device)
    grads = grads_for(SHAPES[:2], 9, 610, device, scale=128.0)
    run_and_compare(submission, params, grads, scaler_state(128.0, interval=4), 0.02, 0.9)


@check(points=1)
def test_skip_resets_the_count(submission, device):
    # good, good, skip, good, good, good with growth_interval 3: growth only after the last step.
    params = params_for(SHAPES[:2], 651, device)
    grads = grads_for(SHAPES[:2], 6, 660, device, scale=64.0)
    grads[2][0][1, 1] = math.inf
    run_and_compare(submission, params, grads, scaler_state(64.0, interval=3), 0.05, 0.9)


@check(points=1)
def test_resumes_the_count_and_interval_one(submission, device):
    # A tracker of 2 out of 3 carried in: the first good step grows. Then growth_interval 1: every
    # good step grows.
    params = params_for(SHAPES[:2], 701, device)
    grads = grads_for(SHAPES[:2], 3, 710, device, scale=32.0)
    run_and_compare(submission, params, grads, scaler_state(32.0, interval=3, tracker=2), 0.05, 0.9)
    grads = grads_for(SHAPES[:2], 4, 740, device, scale=32.0)
    grads[2][1][0] = math.nan
    run_and_compare(submission, params, grads, scaler_state(32.0, interval=1), 0.05, 0.9)


@check(points=1)
def test_factors_come_from_the_state(submission, device):
    # growth 4, backoff 0.25, a scale of 3 (not a power of two): no hard-coded 2 and 0.5, and the
    # gradients are unscaled by the scale in force at the step (grown only afterwards).
    params = params_for(SHAPES, 751, device)
    grads = grads_for(SHAPES, 7, 760, device, scale=3.0)
    grads[4][0][0, 0] = math.inf
    run_and_compare(submission, params, grads, scaler_state(3.0, interval=2, growth=4.0, backoff=0.25), 0.05, 0.8)


@check(points=1)
def test_growth_stops_at_float32_max(submission, device):
    # From 2^126, growth 4 would give 2^128 = inf in float32: not applied (tracker reset all the
    # same). From 2^125 it gives 2^127, the largest power of two float32 holds: applied.
    params = params_for(SHAPES[:1], 801, device)
    grads = grads_for(SHAPES[:1], 2, 810, device, scale=2.0 ** 120)
    run_and_compare(submission, params, grads, scaler_state(2.0 ** 126, interval=1, growth=4.0), 0.1, 0.9)
    run_and_compare(submission, params, grads, scaler_state(2.0 ** 125, interval=1, growth=4.0), 0.1, 0.9)


@check(points=1)
def test_skipped_step_leaves_params_and_momentum(submission, device):
    # A good step fills the momentum buffers, then an overflow: the step is skipped entirely, so
    # neither the parameters nor the buffers move (a zeroed gradient would still move both).
    params = params_for(SHAPES, 851, device)
    grads = grads_for(SHAPES, 2, 860, device, scale=16.0)
    grads[1][1][4] = math.inf
    state = scaler_state(16.0, interval=10)
    p1, b1, s1, _ = assert_tuple(submission.scaler_step(params, grads[0], [torch.zeros_like(p) for p in params],
                                                        state, 0.1, 0.9), 4)
    p2, b2, s2, found = assert_tuple(submission.scaler_step(p1, grads[1], b1, s1, 0.1, 0.9), 4)
    compare_found(found, True)
    exact = dict(rtol=0, atol=0)
    compare_tensors(p2, list(p1), "params after the skipped step", exact)
    compare_tensors(b2, list(b1), "bufs after the skipped step", exact)
    run_and_compare(submission, params, grads, state, 0.1, 0.9)


@check(points=1)
def test_plain_sgd(submission, device):
    # momentum 0: p ← p − lr · ĝ; torch keeps no buffer, so only the parameters are compared.
    params = params_for(SHAPES, 901, device)
    grads = grads_for(SHAPES, 4, 910, device, scale=8.0)
    grads[1][0][2, 2] = math.nan
    run_and_compare(submission, params, grads, scaler_state(8.0, interval=2), 0.1, 0.0, compare_bufs=False)


@check(points=1)
def test_odd_shapes_and_views(submission, device):
    # A 0-d parameter, a single element, and transposed (non-contiguous) parameters and gradients.
    params = [randn(1, seed=951, device=device).reshape(()), randn(1, seed=952, device=device),
              randn(5, 3, seed=953, device=device).t()]
    grads = [[randn(1, seed=960 + t, device=device, scale=4.0).reshape(()), randn(1, seed=970 + t, device=device),
              randn(5, 3, seed=980 + t, device=device, scale=4.0).t()] for t in range(3)]
    grads[1][2][1, 3] = math.inf
    run_and_compare(submission, params, grads, scaler_state(4.0, interval=1), 0.1, 0.9)


@check(points=1)
def test_result_types_and_inputs_unchanged(submission, device):
    # New lists of float32 tensors, a plain dict of Python numbers, a bool; the proxy also checks
    # that no tensor argument was modified in place (by a good step and by a skipped one).
    params = params_for(SHAPES, 991, device)
    grads = grads_for(SHAPES, 2, 995, device, scale=2.0)
    grads[1][0][0, 0] = math.inf
    state = scaler_state(2.0, interval=7)
    bufs = [torch.zeros_like(p) for p in params]
    for g in grads:
        p, b, s, found = assert_tuple(submission.scaler_step(params, g, bufs, state, 0.1, 0.9), 4)
        if type(p) is not list or type(b) is not list:
            raise CheckFailure("params and bufs are not returned as lists")
        if any(type(t) is not torch.Tensor or t.dtype != torch.float32 for t in p + b):
            raise CheckFailure("params and bufs are not float32 tensors")
        if type(s["scale"]) is not float:
            raise CheckFailure("scaler['scale'] is not a float")
        compare_found(found, not bool(torch.isfinite(g[0]).all()))
        compare_state(s, s, what="scaler")


# train_step ------------------------------------------------------------------------------------

def batches_for(dtype, steps, batch, d_in, d_out, seed, device, x_scale=1.0):
    return [(randn(batch, d_in, seed=seed + t, dtype=dtype, device=device, scale=x_scale),
             randn(batch, d_out, seed=seed + 100 + t, device=device)) for t in range(steps)]


def zeros_like_all(master):
    return {n: torch.zeros_like(w) for n, w in master.items()}


@check(points=2)
def test_bfloat16_steps(submission, device):
    # Six steps in bfloat16 with a large scale (bfloat16 has float32's range: no overflow) and
    # growth every 2 good steps.
    master = tiny_model(5, 7, 3, seed=1101, device=device)
    batches = batches_for(torch.bfloat16, 6, 4, 5, 3, seed=1110, device=device)
    state = scaler_state(2.0 ** 20, interval=2)
    records = torch_amp_run(master, zeros_like_all(master), state, batches, 0.05, 0.9)
    train_teacher_forced(submission, records, batches, 0.05, 0.9)


@check(points=2)
def test_float16_overflow_backs_off(submission, device):
    # float16 tops out at 65504: from a scale of 2^20 the scaled backward overflows, the scaler
    # backs off until it fits, grows after 2 good steps, overflows again... Ten steps, each judged
    # from the oracle's state before it. An fp32 forward, or gradients scaled after an unscaled
    # backward, never overflow and take every step.
    master = tiny_model(5, 7, 3, seed=101, device=device)
    batches = batches_for(torch.float16, 10, 4, 5, 3, seed=110, device=device)
    state = scaler_state(2.0 ** 20, interval=2)
    records = torch_amp_run(master, zeros_like_all(master), state, batches, 0.05, 0.9)
    if not any(r[3] for r in records) or all(r[3] for r in records):
        raise RuntimeError("the check's data no longer mixes skipped and taken steps")
    train_teacher_forced(submission, records, batches, 0.05, 0.9)


@check(points=1)
def test_float16_small_gradients_survive(submission, device):
    # Targets within 1e-6 of the outputs: unscaled, the float16 backward underflows (a quarter to a
    # half of the gradient entries flush to zero); scaled by 2^16 first, it keeps them. The momentum
    # buffer holds this step's unscaled gradient: compared relative to its tiny size.
    master = tiny_model(5, 7, 3, seed=201, device=device)
    x = randn(6, 5, seed=210, dtype=torch.float16, device=device)
    with torch.no_grad():
        half = {n: w.to(torch.float16) for n, w in master.items()}
        out = (torch.relu(x @ half["W1"].T + half["b1"]) @ half["W2"].T + half["b2"]).float()
    y = out + randn(6, 3, seed=211, device=device, scale=1e-6)
    state = scaler_state(2.0 ** 16, interval=1000)
    records = torch_amp_run(master, zeros_like_all(master), state, [(x, y)], 0.05, 0.9)
    got = submission.train_step(master, zeros_like_all(master), state, x, y, 0.05, 0.9)
    compare_train_step(got, records[0], tol=dict(rtol=1e-5, atol=1e-12))


@check(points=1)
def test_nan_input_skips(submission, device):
    # A NaN in one input at step 2: the loss and every gradient are NaN, the step is skipped.
    master = tiny_model(4, 6, 2, seed=1201, device=device)
    batches = batches_for(torch.bfloat16, 4, 3, 4, 2, seed=1210, device=device)
    batches[1][0][2, 1] = math.nan
    state = scaler_state(1024.0, interval=2)
    records = torch_amp_run(master, zeros_like_all(master), state, batches, 0.05, 0.9)
    train_teacher_forced(submission, records, batches, 0.05, 0.9)


@check(points=1)
def test_master_weights_keep_small_updates(submission, device):
    # lr 1e-4: each update (~1e-4) is far below bfloat16's spacing near 1 (2^-7): updating the
    # half copy loses it (a difference of 1e-4 relative, ten times the tolerance), the float32 master
    # keeps it.
    master = tiny_model(6, 4, 3, seed=1301, device=device, scale=3.0)
    batches = batches_for(torch.bfloat16, 3, 5, 6, 3, seed=1310, device=device)
    state = scaler_state(256.0, interval=100)
    records = torch_amp_run(master, zeros_like_all(master), state, batches, 1e-4, 0.9)
    train_teacher_forced(submission, records, batches, 1e-4, 0.9)


@check(points=1)
def test_batch_of_one_and_views(submission, device):
    # One example per batch, and master weights handed over as transposed (non-contiguous) views.
    master = tiny_model(3, 5, 2, seed=1401, device=device)
    master["W1"] = master["W1"].t().contiguous().t()
    master["W2"] = master["W2"].t().contiguous().t()
    batches = batches_for(torch.float16, 4, 1, 3, 2, seed=1410, device=device)
    state = scaler_state(2.0 ** 18, interval=1)
    records = torch_amp_run(master, zeros_like_all(master), state, batches, 0.1, 0.5)
    train_teacher_forced(submission, records, batches, 0.1, 0.5)


@check(points=1)
def test_train_step_types_and_inputs_unchanged(submission, device):
    # Master weights come back float32 (never the half copy), as a dict with the same keys; the
    # proxy checks that no argument was modified.
    master = tiny_model(4, 3, 2, seed=1501, device=device)
    x, y = batches_for(torch.bfloat16, 1, 2, 4, 2, seed=1510, device=device)[0]
    got = submission.train_step(master, zeros_like_all(master), scaler_state(8.0, interval=3), x, y, 0.1, 0.9)
    new_master, bufs, state, loss, found = assert_tuple(got, 5)
    if type(new_master) is not dict or set(new_master) != set(NAMES):
        raise CheckFailure("master is not a dict with the keys W1, b1, W2, b2")
    for n in NAMES:
        if type(new_master[n]) is not torch.Tensor or new_master[n].dtype != torch.float32:
            raise CheckFailure("the master weights are not float32 tensors")
    if type(loss) is not torch.Tensor or loss.dtype != torch.float32 or loss.dim() != 0:
        raise CheckFailure("the loss is not a 0-d float32 tensor")
    records = torch_amp_run(master, zeros_like_all(master), scaler_state(8.0, interval=3), [(x, y)], 0.1, 0.9)
    compare_train_step(got, records[0])

