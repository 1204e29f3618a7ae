"""exp(x) / sum(exp(x)) without subtracting the maximum: overflows to inf / inf = NaN for large inputs."""
import torch


def softmax(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)
