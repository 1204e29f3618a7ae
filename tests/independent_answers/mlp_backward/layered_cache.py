"""Backward pass with a forward cache of every layer's activations, then the chain rule layer by layer."""
import torch


def _logistic(t):
    e = torch.exp(-t.abs())
    return torch.where(t >= 0, 1 / (1 + e), e / (1 + e))


def mlp_backward(x, y, W1, b1, W2, b2):
    cache = {"a0": x}
    cache["a1"] = _logistic(torch.addmm(b1, x, W1))
    cache["a2"] = _logistic(torch.addmm(b2, cache["a1"], W2))
    out = cache["a2"]
    count = out.numel()
    per_entry = y * torch.clamp(torch.log(out), min=-100) + (1 - y) * torch.clamp(torch.log(1 - out), min=-100)
    loss = -per_entry.sum() / count

    delta2 = (out - y) / count
    grad_W2 = torch.mm(cache["a1"].t(), delta2)
    grad_b2 = delta2.sum(0)
    delta1 = torch.mm(delta2, W2.t()) * cache["a1"] * (1 - cache["a1"])
    grad_W1 = torch.mm(cache["a0"].t(), delta1)
    grad_b1 = delta1.sum(0)
    return loss, {"W2": grad_W2, "b2": grad_b2, "W1": grad_W1, "b1": grad_b1}
