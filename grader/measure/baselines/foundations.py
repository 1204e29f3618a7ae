"""Timing and memory baselines of the foundations track: the plain vectorised formula, written with torch ops."""

from __future__ import annotations

import torch


# --- normalize ---

def normalize(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Min-max scaling of each column of ``x`` (n, d) to [0, 1]; constant columns map to 0."""
    col_min, col_max = x.amin(dim=0), x.amax(dim=0)  # (d,)
    span = col_max - col_min
    span = torch.where(span > 0, span, torch.ones_like(span))  # a constant column gives 0 / 1 = 0
    return (x - col_min) / span, col_min, col_max


# --- sgd_step ---

def sgd_step(param: torch.Tensor, grad: torch.Tensor, buf: torch.Tensor | None, lr: float,
             momentum: float = 0.0, weight_decay: float = 0.0,
             nesterov: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One step of torch.optim.SGD (dampening 0) written with torch ops, as the exercise asks."""
    if weight_decay != 0:
        grad = grad + weight_decay * param
    if momentum != 0:
        buf = grad.clone() if buf is None else momentum * buf + grad
        grad = grad + momentum * buf if nesterov else buf
    return param - lr * grad, buf


# --- mlp_forward ---

def mlp_forward(x: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
                b2: torch.Tensor) -> torch.Tensor:
    """σ(σ(x W1 + b1) W2 + b2) with torch.addmm and the library sigmoid."""
    return torch.sigmoid(torch.addmm(b2, torch.sigmoid(torch.addmm(b1, x, W1)), W2))


# --- mlp_backward ---

def mlp_backward(x: torch.Tensor, y: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
                 b2: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The mlp_backward contract computed by torch autograd: forward, BCE, then torch.autograd.grad."""
    params = [t.detach().requires_grad_() for t in (W1, b1, W2, b2)]
    with torch.enable_grad():
        p = torch.sigmoid(torch.addmm(params[3], torch.sigmoid(torch.addmm(params[1], x, params[0])), params[2]))
        loss = torch.nn.functional.binary_cross_entropy(p, y)
        grads = torch.autograd.grad(loss, params)
    return loss.detach(), dict(zip(("W1", "b1", "W2", "b2"), grads))


# --- adam ---

def adam_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int, lr: float = 1e-3,
              beta1: float = 0.9, beta2: float = 0.999,
              eps: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of torch.optim.Adam's formula (default flags), plain torch ops on new tensors."""
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * (grad * grad)
    denom = v.sqrt() / (1.0 - beta2 ** t) ** 0.5 + eps
    return param - (lr / (1.0 - beta1 ** t)) * m / denom, m, v
