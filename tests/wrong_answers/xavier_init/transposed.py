"""Returns shape (fan_out, fan_in), the layout of nn.Linear.weight, instead of (fan_in, fan_out)."""
import math

import torch


def xavier_init(fan_in, fan_out, generator):
    g = torch.Generator()
    g.manual_seed(generator)
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return (2 * torch.rand(fan_out, fan_in, generator=g) - 1) * a
