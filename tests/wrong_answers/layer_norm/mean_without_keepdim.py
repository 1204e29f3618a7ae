"""Reduces without keepdim, so the statistics broadcast along the wrong axis (or not at all)."""
import torch


def layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean(dim=-1)
    var = ((x - mu.unsqueeze(-1)) ** 2).mean(dim=-1)
    return (x - mu) / torch.sqrt(var + eps) * weight + bias
