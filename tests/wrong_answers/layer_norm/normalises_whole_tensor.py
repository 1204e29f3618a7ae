"""Takes the mean and variance over the whole tensor, not each row."""
import torch


def layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean()
    var = ((x - mu) ** 2).mean()
    return (x - mu) / torch.sqrt(var + eps) * weight + bias
