"""Averages two uniform draws scaled to keep the variance: triangular, not uniform."""
import math

import torch


def xavier_init(fan_in, fan_out, generator):
    g = torch.Generator()
    g.manual_seed(generator)
    a = math.sqrt(6.0 / (fan_in + fan_out))
    u = torch.rand(2, fan_in, fan_out, generator=g) * 2 - 1  # two U(-1, 1)
    # (u1 + u2) / 2 has variance 1/6; scale by a·sqrt(2) for a²/3, clipped back into [-a, a].
    return ((u[0] + u[1]) / 2 * a * math.sqrt(2)).clamp(-a, a)
