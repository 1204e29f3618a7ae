"""Backward pass written with einsum for every product and a helper per layer."""
import torch


def act(z):
    return torch.reciprocal(1.0 + torch.exp(-z))


def dense(inp, weight, bias):
    return torch.einsum("bi,io->bo", inp, weight) + bias


def mlp_backward(x, y, W1, b1, W2, b2):
    hidden = act(dense(x, W1, b1))
    pred = act(dense(hidden, W2, b2))
    bce = -(y * torch.log(pred).clamp_min(-100.0) + (1.0 - y) * torch.log1p(-pred).clamp_min(-100.0))
    loss = bce.mean()
    g_out = (pred - y) / bce.numel()
    g_hidden = torch.einsum("bo,ho->bh", g_out, W2) * hidden * (1.0 - hidden)
    grads = dict(
        W1=torch.einsum("bi,bh->ih", x, g_hidden),
        b1=g_hidden.sum(dim=0),
        W2=torch.einsum("bh,bo->ho", hidden, g_out),
        b2=g_out.sum(dim=0),
    )
    return loss, grads
