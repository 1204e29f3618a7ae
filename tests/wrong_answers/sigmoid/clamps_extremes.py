"""Clamps the input to ±20 "for stability", which is wrong in float64 (σ(30) ≠ σ(20))."""
import torch


def sigmoid(x):
    return 1 / (1 + torch.exp(-x.clamp(-20, 20)))
