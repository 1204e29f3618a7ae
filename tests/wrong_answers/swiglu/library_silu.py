"""Calls torch.nn.functional.silu, which the exercise forbids."""

import torch.nn.functional as F


def swiglu(x, W1, W2, W3):
    return (F.silu(x @ W1.T) * (x @ W3.T)) @ W2.T
