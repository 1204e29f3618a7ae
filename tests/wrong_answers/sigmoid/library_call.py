"""Calls the forbidden library op through an alias."""
import torch


def sigmoid(x):
    return torch.special.expit(x)
