"""Multiplies by W instead of W.T, ignoring the nn.Linear (out_features, in_features) layout."""

import torch


def swiglu(x, W1, W2, W3):
    a = x @ W1
    return (a * torch.sigmoid(a) * (x @ W3)) @ W2
