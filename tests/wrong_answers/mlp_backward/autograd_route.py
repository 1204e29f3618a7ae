"""Lets autograd do the work: parameters that require grad are forbidden."""
import torch


def _sigmoid(z):
    return 1 / (1 + torch.exp(-z))


def _loss(p, y):
    return -(y * torch.log(p).clamp(min=-100) + (1 - y) * torch.log(1 - p).clamp(min=-100)).mean()


def mlp_backward(x, y, W1, b1, W2, b2):
    params = [t.clone().requires_grad_() for t in (W1, b1, W2, b2)]
    with torch.enable_grad():
        h = _sigmoid(x @ params[0] + params[1])
        p = _sigmoid(h @ params[2] + params[3])
        loss = _loss(p, y)
        loss.backward()
    return loss.detach(), dict(zip(("W1", "b1", "W2", "b2"), (q.grad for q in params)))
