"""Scales by fan_in alone: a = sqrt(6 / fan_in) (He-style), not sqrt(6 / (fan_in + fan_out))."""
import math

import torch


def xavier_init(fan_in, fan_out, generator):
    g = torch.Generator()
    g.manual_seed(generator)
    a = math.sqrt(6.0 / fan_in)
    return (2 * torch.rand(fan_in, fan_out, generator=g) - 1) * a
