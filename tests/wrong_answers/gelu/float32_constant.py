"""√2 as a float32 tensor constant: float64 inputs lose precision."""
import torch


def gelu(x):
    root_two = torch.tensor(2.0, device=x.device).sqrt()
    return 0.5 * x * (1 + torch.erf(x / root_two))
