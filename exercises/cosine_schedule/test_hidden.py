"""Hidden checks for cosine_schedule: every phase, the boundaries, no warm-up, the return type."""

import math

from grader.checks import CheckFailure, assert_scalar, check

# Float arithmetic on Python numbers: any honest arrangement of the formula agrees to ~1e-15.
TOL = dict(rtol=1e-12, atol=1e-12)


def schedule(t, lr_max, lr_min, warmup, cosine):
    """The oracle, written from the statement."""
    if t < warmup:
        return t / warmup * lr_max
    if t <= cosine:
        return lr_min + 0.5 * (1 + math.cos(math.pi * (t - warmup) / (cosine - warmup))) * (lr_max - lr_min)
    return lr_min


def expect(submission, t, *args):
    assert_scalar(submission.cosine_schedule(t, *args), schedule(t, *args), **TOL, what=f"lr at t={t}")


@check(points=1)
def test_warmup_phase(submission):
    # lr(0) = 0, then a straight line that reaches lr_max at t = T_w, not a step early or late.
    for t in (0, 1, 5, 98, 99):
        expect(submission, t, 3e-4, 3e-5, 100, 1000)


@check(points=1)
def test_peak_at_end_of_warmup(submission):
    for args in [(6e-4, 6e-5, 7, 50), (1.0, 0.0, 1, 3)]:
        expect(submission, args[2], *args)


@check(points=1)
def test_cosine_phase_spans_warmup_to_cosine_steps(submission):
    # Quarter points of the cosine: π/4, π/2, 3π/4 of a span of T_c − T_w = 80 steps.
    for t in (21, 40, 60, 80, 99):
        expect(submission, t, 2e-3, 1e-4, 20, 100)


@check(points=1)
def test_reaches_lr_min_at_cosine_steps(submission):
    expect(submission, 100, 2e-3, 1e-4, 20, 100)
    expect(submission, 30, 1.0, 0.25, 3, 30)


@check(points=1)
def test_constant_after_cosine_steps(submission):
    # Past T_c the rate stays at the floor: the cosine must not climb back up.
    for t in (101, 150, 180, 10_000):
        expect(submission, t, 2e-3, 1e-4, 20, 100)


@check(points=1)
def test_no_warmup(submission):
    # T_w = 0: lr(0) = lr_max and nothing divides by zero.
    for t in (0, 1, 17, 33, 34, 50):
        expect(submission, t, 5e-4, 5e-5, 0, 34)


@check(points=1)
def test_whole_curve(submission):
    # Every step of a short schedule, floor above zero, odd sizes.
    args = (0.9, 0.13, 9, 41)
    for t in range(0, 47):
        expect(submission, t, *args)


@check(points=1)
def test_returns_python_float(submission):
    for t in (0, 3, 10, 25):
        value = submission.cosine_schedule(t, 1e-3, 1e-4, 5, 20)
        if type(value) is not float:
            raise CheckFailure("result is not a Python float", f"got {type(value).__qualname__} at t={t}")
