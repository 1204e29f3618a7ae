"""Hidden checks for checkpoint: each piece of state on its own, copies rather than references, a
checkpoint loaded twice, float64, a checkpoint before the first step, chained resumes, odd shapes."""

import importlib.util
from pathlib import Path

import torch

from grader.checks import CheckFailure, assert_tuple, check

# The oracle (a copy of the provided training code) is the public file's: it ships with every release.
_spec = importlib.util.spec_from_file_location("checkpoint_public_checks", Path(__file__).with_name("test_public.py"))
public = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public)
CONFIG, compare_snapshots, plain_data = public.CONFIG, public.compare_snapshots, public.plain_data
problem, save_and_resume, straight_run = public.problem, public.save_and_resume, public.straight_run
other_weights = public.other_weights

LONG = dict(CONFIG, lr=0.02, warmup=3, total=12)


@check(points=2)
def test_adam_moments_and_step_resume(submission, device):
    # Saved after 5 of 9 steps: the moments carry the history, the step count the bias corrections.
    weights, x, y = problem(4, 6, 3, 16, seed=101, device=device)
    snap, _ = save_and_resume(submission, weights, x, y, LONG, 103, 5, 4)
    expected = straight_run(weights, x, y, LONG, 103, 9, device)
    compare_snapshots(snap, expected, parts=("step", "exp_avg", "exp_avg_sq", "params"))


@check(points=1)
def test_schedule_position_resumes(submission, device):
    # Saved during the warm-up (after 2 of 3 warm-up steps) and during the decay (after 7).
    weights, x, y = problem(4, 6, 3, 16, seed=201, device=device)
    for before, after in ((2, 5), (7, 3)):
        snap, _ = save_and_resume(submission, weights, x, y, LONG, 203, before, after)
        compare_snapshots(snap, straight_run(weights, x, y, LONG, 203, before + after, device),
                          what=f"the run resumed after {before} steps", parts=("lr", "params"))


@check(points=1)
def test_random_generator_resumes(submission, device):
    # The resumed job was seeded differently: its batches and dropout masks follow the saved
    # generator only if the checkpoint restores it. The generator's final state is compared too.
    weights, x, y = problem(4, 6, 3, 16, seed=301, device=device)
    config = dict(LONG, p_drop=0.5)
    snap, _ = save_and_resume(submission, weights, x, y, config, 303, 4, 4)
    compare_snapshots(snap, straight_run(weights, x, y, config, 303, 8, device), parts=("rng", "params"))


@check(points=2)
def test_checkpoint_holds_copies(submission, device):
    # One process: save after 3 steps, let the run go on for 4 more (its tensors change in place),
    # then resume from the checkpoint. A checkpoint of references has moved with the run.
    weights, x, y = problem(5, 4, 2, 14, seed=401, device=device)
    straight, resumed, _ = assert_tuple(submission.save_midway(weights, x, y, LONG, 403, 3, 4, [404, 405]), 3)
    expected = straight_run(weights, x, y, LONG, 403, 7, device)
    compare_snapshots(straight, expected, what="the uninterrupted run")
    compare_snapshots(resumed, expected)


@check(points=1)
def test_checkpoint_loads_twice(submission, device):
    # The same checkpoint loaded by a second new run, after the first trained on: loading must
    # not hand the checkpoint's own tensors to the optimiser, which updates its state in place.
    weights, x, y = problem(5, 4, 2, 14, seed=501, device=device)
    _, _, again = assert_tuple(submission.save_midway(weights, x, y, LONG, 503, 3, 4, [504, 505]), 3)
    compare_snapshots(again, straight_run(weights, x, y, LONG, 503, 7, device),
                      what="the second run resumed from one checkpoint")


@check(points=2)
def test_float64_bit_for_bit(submission, device):
    # A float64 model: a checkpoint that stores float32 copies (or Python lists rebuilt as float32
    # tensors) rounds every weight and moment.
    weights, x, y = problem(4, 5, 3, 12, seed=601, device=device, dtype=torch.float64)
    snap, _ = save_and_resume(submission, weights, x, y, LONG, 603, 4, 3)
    compare_snapshots(snap, straight_run(weights, x, y, LONG, 603, 7, device))
    straight, resumed, again = assert_tuple(submission.save_midway(weights, x, y, LONG, 607, 2, 3, [608, 609]), 3)
    expected = straight_run(weights, x, y, LONG, 607, 5, device)
    for what, got in (("the uninterrupted run", straight), ("the resumed run", resumed),
                      ("the second resumed run", again)):
        compare_snapshots(got, expected, what=f"{what} (float64, one process)")


@check(points=1)
def test_checkpoint_before_first_step(submission, device):
    # Saved before any step: the optimiser has no state yet and the schedule stands at 0.
    weights, x, y = problem(3, 5, 2, 10, seed=701, device=device)
    snap, _ = save_and_resume(submission, weights, x, y, LONG, 703, 0, 5)
    compare_snapshots(snap, straight_run(weights, x, y, LONG, 703, 5, device))
    # Loaded and not trained at all: the weights, an optimiser still without state, position 0.
    snap, _ = save_and_resume(submission, weights, x, y, LONG, 705, 0, 0)
    compare_snapshots(snap, straight_run(weights, x, y, LONG, 705, 0, device), what="the run loaded before any step")


@check(points=1)
def test_checkpoint_of_a_resumed_run(submission, device):
    # 2 steps, checkpoint; resume 3 steps and checkpoint again; resume 3 more: equal to 8 straight.
    weights, x, y = problem(4, 6, 3, 16, seed=801, device=device)
    _, second = save_and_resume(submission, weights, x, y, LONG, 803, 2, 3)
    plain_data(second)
    snap, _ = assert_tuple(submission.resume(other_weights(weights, 870), x, y, LONG, second, 871, 3), 2)
    compare_snapshots(snap, straight_run(weights, x, y, LONG, 803, 8, device),
                      what="the run resumed from a checkpoint of a resumed run")


@check(points=1)
def test_odd_shapes_and_batch_of_one(submission, device):
    # Every size different, batches of one example, a schedule resumed past its end (lr 0).
    weights, x, y = problem(5, 7, 3, 11, seed=901, device=device)
    config = dict(LONG, batch=1, warmup=1, total=5)
    snap, _ = save_and_resume(submission, weights, x, y, config, 903, 6, 3)
    compare_snapshots(snap, straight_run(weights, x, y, config, 903, 9, device))


@check(points=1)
def test_checkpoint_is_plain_data(submission, device):
    # A dict of tensors and numbers (no bytes); the run it was taken from is not disturbed by
    # saving: train_and_save's checkpoint and a straight run of the same steps agree.
    weights, x, y = problem(4, 6, 3, 16, seed=1001, device=device)
    checkpoint = submission.train_and_save(weights, x, y, LONG, 1003, 3)
    if type(checkpoint) is not dict:
        raise CheckFailure("save_state did not return a dict")
    plain_data(checkpoint)
    tensors = []

    def walk(v):
        if type(v) is torch.Tensor:
            tensors.append(v)
        elif type(v) is dict:
            for item in v.values():
                walk(item)
        elif type(v) in (list, tuple):
            for item in v:
                walk(item)
    walk(checkpoint)
    if not any(t.dtype == torch.uint8 for t in tensors):
        raise CheckFailure("the checkpoint holds no random generator state (a uint8 tensor)")
    snap, _ = assert_tuple(submission.resume(other_weights(weights, 1050), x, y, LONG, checkpoint, 1099, 2), 2)
    compare_snapshots(snap, straight_run(weights, x, y, LONG, 1003, 5, device))
