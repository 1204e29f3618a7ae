"""Uses the normal variant's standard deviation sqrt(2 / (fan_in + fan_out)) as the uniform bound."""
import math

import torch


def xavier_init(fan_in, fan_out, generator):
    g = torch.Generator()
    g.manual_seed(generator)
    a = math.sqrt(2.0 / (fan_in + fan_out))
    return (2 * torch.rand(fan_in, fan_out, generator=g) - 1) * a
