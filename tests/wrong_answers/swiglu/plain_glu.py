"""Uses σ(z) as the gate instead of SiLU(z) = z·σ(z): plain GLU."""

import torch


def swiglu(x, W1, W2, W3):
    return (torch.sigmoid(x @ W1.T) * (x @ W3.T)) @ W2.T
