"""group_norm with one group over (rows, 1, d) computes layer norm: a forbidden route."""
import torch.nn.functional as F


def layer_norm(x, weight, bias, eps=1e-5):
    d = x.shape[-1]
    y = F.group_norm(x.reshape(-1, 1, d), 1, eps=eps).reshape(x.shape)
    return y * weight + bias
