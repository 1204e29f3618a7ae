"""Reference solution: the forward pass of a two-layer MLP with sigmoid activations."""

import torch


def _sigmoid(z: torch.Tensor) -> torch.Tensor:
    # exp(-z) overflows to inf for z << 0 and 1 / (1 + inf) = 0 exactly: no NaN can appear.
    return 1.0 / (1.0 + torch.exp(-z))


def mlp_forward(x: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
                b2: torch.Tensor) -> torch.Tensor:
    """y = σ(σ(x @ W1 + b1) @ W2 + b2) for x (batch, d_in); returns (batch, d_out)."""
    h = _sigmoid(x @ W1 + b1)  # (batch, d_hidden); b1 (d_hidden,) broadcasts over the rows
    return _sigmoid(h @ W2 + b2)  # (batch, d_out)
