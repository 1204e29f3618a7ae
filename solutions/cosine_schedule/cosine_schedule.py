"""Reference solution: the cosine learning-rate schedule with linear warm-up."""

import math


def cosine_schedule(t: int, lr_max: float, lr_min: float, warmup_steps: int, cosine_steps: int) -> float:
    """Linear warm-up to ``lr_max``, cosine decay to ``lr_min`` at ``cosine_steps``, then ``lr_min``."""
    if t < warmup_steps:  # never true when warmup_steps == 0: no division by zero
        return float(t / warmup_steps * lr_max)
    if t <= cosine_steps:
        progress = (t - warmup_steps) / (cosine_steps - warmup_steps)  # 0 at T_w, 1 at T_c
        return float(lr_min + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr_max - lr_min))
    return float(lr_min)
