"""Cosine over the wrong span: its argument is π t / T_c instead of π (t − T_w) / (T_c − T_w)."""

import math


def cosine_schedule(t, lr_max, lr_min, warmup_steps, cosine_steps):
    if t < warmup_steps:
        return t / warmup_steps * lr_max
    if t <= cosine_steps:
        return lr_min + 0.5 * (1.0 + math.cos(math.pi * t / cosine_steps)) * (lr_max - lr_min)
    return lr_min
