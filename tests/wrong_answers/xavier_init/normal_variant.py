"""Draws from the normal variant N(0, 2 / (fan_in + fan_out)): same variance, but unbounded."""
import math

import torch


def xavier_init(fan_in, fan_out, generator):
    g = torch.Generator()
    g.manual_seed(generator)
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return torch.randn(fan_in, fan_out, generator=g) * std
