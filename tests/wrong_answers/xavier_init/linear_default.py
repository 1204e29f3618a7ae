"""Uses nn.Linear's default bound 1 / sqrt(fan_in) instead of Glorot's."""
import math

import torch


def xavier_init(fan_in, fan_out, generator):
    g = torch.Generator()
    g.manual_seed(generator)
    a = 1.0 / math.sqrt(fan_in)
    return torch.empty(fan_in, fan_out).uniform_(-a, a, generator=g)
