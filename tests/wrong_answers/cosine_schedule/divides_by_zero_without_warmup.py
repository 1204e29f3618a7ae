"""Computes the warm-up fraction before testing the phase: warmup_steps = 0 divides by zero."""

import math


def cosine_schedule(t, lr_max, lr_min, warmup_steps, cosine_steps):
    fraction = t / warmup_steps
    if fraction < 1:
        return fraction * lr_max
    if t <= cosine_steps:
        progress = (t - warmup_steps) / (cosine_steps - warmup_steps)
        return lr_min + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr_max - lr_min)
    return lr_min
