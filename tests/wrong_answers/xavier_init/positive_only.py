"""Draws U(0, a) (rand() * a) instead of U(-a, a): every weight is positive."""
import math

import torch


def xavier_init(fan_in, fan_out, generator):
    g = torch.Generator()
    g.manual_seed(generator)
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.rand(fan_in, fan_out, generator=g) * a
