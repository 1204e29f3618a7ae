"""Computes σ(x) as 1 − σ(−x): tiny results for very negative x round to 0."""
import torch


def sigmoid(x):
    return 1 - 1 / (1 + torch.exp(x))
