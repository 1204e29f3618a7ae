"""Public checks for cosine_schedule: the worked example of the statement."""

import math

from grader.checks import assert_scalar, check

# Float arithmetic on Python numbers: any honest arrangement of the formula agrees to ~1e-15.
TOL = dict(rtol=1e-12, atol=1e-12)


def schedule(t, lr_max, lr_min, warmup, cosine):
    if t < warmup:
        return t / warmup * lr_max
    if t <= cosine:
        return lr_min + 0.5 * (1 + math.cos(math.pi * (t - warmup) / (cosine - warmup))) * (lr_max - lr_min)
    return lr_min


@check(points=1)
def test_worked_example(submission):
    for t in (0, 1, 2, 3, 4, 6, 8, 10, 12, 13, 14):
        assert_scalar(submission.cosine_schedule(t, 1.0, 0.1, 4, 12), schedule(t, 1.0, 0.1, 4, 12), **TOL,
                      what=f"lr at t={t}")
