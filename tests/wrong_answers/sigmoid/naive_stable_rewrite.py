"""exp(x) / (1 + exp(x)): inf / inf = NaN for large positive inputs."""
import torch


def sigmoid(x):
    e = torch.exp(x)
    return e / (1 + e)
