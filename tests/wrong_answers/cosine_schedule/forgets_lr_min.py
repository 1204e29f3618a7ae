"""Forgets the floor: the cosine decays lr_max to 0, and lr_min only appears after T_c."""

import math


def cosine_schedule(t, lr_max, lr_min, warmup_steps, cosine_steps):
    if t < warmup_steps:
        return t / warmup_steps * lr_max
    if t <= cosine_steps:
        progress = (t - warmup_steps) / (cosine_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * progress)) * lr_max
    return lr_min
