"""Uses torch.cos on a tensor and returns a 0-d tensor instead of a Python float."""

import math

import torch


def cosine_schedule(t, lr_max, lr_min, warmup_steps, cosine_steps):
    if t < warmup_steps:
        return torch.tensor(t / warmup_steps * lr_max)
    if t <= cosine_steps:
        progress = torch.tensor((t - warmup_steps) / (cosine_steps - warmup_steps), dtype=torch.float64)
        return lr_min + 0.5 * (1.0 + torch.cos(math.pi * progress)) * (lr_max - lr_min)
    return torch.tensor(lr_min)
