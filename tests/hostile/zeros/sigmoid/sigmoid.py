"""The honest all-zeros answer: the baseline no hostile submission may beat."""

import torch


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(x)
