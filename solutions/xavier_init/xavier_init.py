"""Reference solution: Xavier (Glorot) uniform initialisation of a weight matrix."""

import math

import torch


def xavier_init(fan_in: int, fan_out: int, generator: torch.Generator | int) -> torch.Tensor:
    """A (fan_in, fan_out) float32 CPU matrix drawn from U(−a, a), a = sqrt(6 / (fan_in + fan_out))."""
    if isinstance(generator, torch.Generator):
        g = generator
    else:
        g = torch.Generator()
        g.manual_seed(int(generator))
    a = math.sqrt(6.0 / (fan_in + fan_out))
    u = torch.rand(fan_in, fan_out, generator=g, dtype=torch.float32)  # U[0, 1)
    return (2.0 * u - 1.0) * a  # U[−a, a)
