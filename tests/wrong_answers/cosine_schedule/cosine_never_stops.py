"""No third phase: past T_c the cosine keeps going and the rate climbs back up."""

import math


def cosine_schedule(t, lr_max, lr_min, warmup_steps, cosine_steps):
    if t < warmup_steps:
        return t / warmup_steps * lr_max
    progress = (t - warmup_steps) / (cosine_steps - warmup_steps)
    return lr_min + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr_max - lr_min)
