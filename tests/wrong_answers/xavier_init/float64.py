"""Draws float64 weights; the contract asks for float32."""
import math

import torch


def xavier_init(fan_in, fan_out, generator):
    g = torch.Generator()
    g.manual_seed(generator)
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return (2 * torch.rand(fan_in, fan_out, generator=g, dtype=torch.float64) - 1) * a
