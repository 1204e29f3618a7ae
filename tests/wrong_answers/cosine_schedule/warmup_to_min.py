"""Warm-up starts from lr_min instead of 0: lr(0) = lr_min."""

import math


def cosine_schedule(t, lr_max, lr_min, warmup_steps, cosine_steps):
    if t < warmup_steps:
        return lr_min + t / warmup_steps * (lr_max - lr_min)
    if t <= cosine_steps:
        progress = (t - warmup_steps) / (cosine_steps - warmup_steps)
        return lr_min + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr_max - lr_min)
    return lr_min
