"""Gates the wrong projection: SiLU(x W3ᵀ) ⊙ x W1ᵀ."""

import torch


def swiglu(x, W1, W2, W3):
    b = x @ W3.T
    return (b * torch.sigmoid(b) * (x @ W1.T)) @ W2.T
