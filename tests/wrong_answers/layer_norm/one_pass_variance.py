"""var = mean(x²) - mean(x)²: catastrophic cancellation when the rows share a large offset."""
import torch


def layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    var = (x * x).mean(dim=-1, keepdim=True) - mu * mu
    return (x - mu) / torch.sqrt(var + eps) * weight + bias
