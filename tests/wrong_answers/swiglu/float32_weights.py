"""Casts the weights to float32 "for speed": float64 inputs lose precision and change dtype."""

import torch


def swiglu(x, W1, W2, W3):
    x32, W1, W2, W3 = x.float(), W1.float(), W2.float(), W3.float()
    a = x32 @ W1.T
    return ((a * torch.sigmoid(a) * (x32 @ W3.T)) @ W2.T)
