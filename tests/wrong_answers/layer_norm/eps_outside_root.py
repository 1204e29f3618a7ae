"""Adds eps after the square root: (x - mu) / (std + eps)."""
import torch


def layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    std = ((x - mu) ** 2).mean(dim=-1, keepdim=True).sqrt()
    return (x - mu) / (std + eps) * weight + bias
