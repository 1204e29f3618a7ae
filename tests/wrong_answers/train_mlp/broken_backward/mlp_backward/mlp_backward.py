"""A wrong dependency: the gradients forget the mean's 1 / (batch · d_out), so they are too large.

train_mlp itself is the reference answer; the checks must blame mlp_backward, not train_mlp.
"""
import torch


def _sigmoid(z):
    return 1.0 / (1.0 + torch.exp(-z))


def mlp_backward(x, y, W1, b1, W2, b2):
    h = _sigmoid(x @ W1 + b1)
    p = _sigmoid(h @ W2 + b2)
    loss = -(y * torch.log(p).clamp(min=-100.0) + (1.0 - y) * torch.log1p(-p).clamp(min=-100.0)).mean()
    dz2 = p - y  # missing / p.numel()
    dz1 = (dz2 @ W2.T) * h * (1.0 - h)
    return loss, {"W1": x.T @ dz1, "b1": dz1.sum(dim=0), "W2": h.T @ dz2, "b2": dz2.sum(dim=0)}
