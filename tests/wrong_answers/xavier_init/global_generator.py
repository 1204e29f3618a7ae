"""Ignores the generator and draws from the global one: the same seed gives different weights."""
import math

import torch


def xavier_init(fan_in, fan_out, generator):
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(fan_in, fan_out).uniform_(-a, a)
