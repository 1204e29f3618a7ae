"""Reference solution: the backward pass of the two-layer sigmoid MLP under binary cross-entropy."""

import torch


def _sigmoid(z: torch.Tensor) -> torch.Tensor:
    return 1.0 / (1.0 + torch.exp(-z))


def mlp_backward(x: torch.Tensor, y: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
                 b2: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """BCE loss of σ(σ(x W1 + b1) W2 + b2) against y, and its gradients for W1, b1, W2, b2."""
    h = _sigmoid(x @ W1 + b1)  # (batch, d_hidden)
    p = _sigmoid(h @ W2 + b2)  # (batch, d_out)
    log_p = torch.log(p).clamp(min=-100.0)
    log_not_p = torch.log1p(-p).clamp(min=-100.0)
    loss = -(y * log_p + (1.0 - y) * log_not_p).mean()

    # σ and BCE combine: ∂ℓ/∂z2 = p − y per entry, and the mean divides by every entry, batch·d_out.
    dz2 = (p - y) / p.numel()  # (batch, d_out)
    dh = dz2 @ W2.T  # (batch, d_hidden)
    dz1 = dh * h * (1.0 - h)  # σ'(z1) = h(1 − h)
    grads = {
        "W1": x.T @ dz1,  # (d_in, d_hidden)
        "b1": dz1.sum(dim=0),  # (d_hidden,): the bias reaches every row of the batch
        "W2": h.T @ dz2,  # (d_hidden, d_out)
        "b2": dz2.sum(dim=0),  # (d_out,)
    }
    return loss, grads
