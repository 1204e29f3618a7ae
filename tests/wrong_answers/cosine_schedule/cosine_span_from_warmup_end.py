"""Treats cosine_steps as the length of the decay counted after the warm-up: (t − T_w) / T_c."""

import math


def cosine_schedule(t, lr_max, lr_min, warmup_steps, cosine_steps):
    if t < warmup_steps:
        return t / warmup_steps * lr_max
    if t <= cosine_steps:
        progress = (t - warmup_steps) / cosine_steps
        return lr_min + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr_max - lr_min)
    return lr_min
