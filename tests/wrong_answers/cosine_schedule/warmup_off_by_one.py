"""Warm-up off by one: (t + 1) / T_w reaches lr_max a step early."""

import math


def cosine_schedule(t, lr_max, lr_min, warmup_steps, cosine_steps):
    if t < warmup_steps:
        return (t + 1) / warmup_steps * lr_max
    if t <= cosine_steps:
        progress = (t - warmup_steps) / (cosine_steps - warmup_steps)
        return lr_min + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr_max - lr_min)
    return lr_min
