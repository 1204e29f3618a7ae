"""Exercise: the forward pass of a two-layer MLP with sigmoid activations."""

import torch


def mlp_forward(x: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
                b2: torch.Tensor) -> torch.Tensor:
    """Two affine layers, each followed by the logistic sigmoid σ(z) = 1 / (1 + exp(−z)).

        h = σ(x @ W1 + b1)          # (batch, d_hidden)
        y = σ(h @ W2 + b2)          # (batch, d_out)

    Each row of ``x`` is one example; the biases are added to every row.

    Args:
        x: inputs, shape (batch, d_in). batch may be 1.
        W1: first-layer weights, shape (d_in, d_hidden) (inputs along the rows, not torch.nn.Linear's
            (out, in) layout).
        b1: first-layer bias, shape (d_hidden,).
        W2: second-layer weights, shape (d_hidden, d_out). d_out may be 1.
        b2: second-layer bias, shape (d_out,).
        All five share one dtype (float32 or float64) and one device; any of them may be
        non-contiguous (a transposed view, say).

    Returns:
        y, a new tensor of shape (batch, d_out) — still 2-D when batch or d_out is 1 — with the inputs'
        dtype and device, every entry in [0, 1] and never NaN, however large the pre-activations.
        No input is modified.

    Forbidden: the library sigmoid by any route (``torch.sigmoid``, ``Tensor.sigmoid``,
    ``torch.special.expit``, ``torch.nn.functional.sigmoid``, ``torch.nn.Sigmoid``, log-sigmoid) and
    everything in ``torch.nn`` (``torch.nn.functional.linear``, ``torch.nn.Linear``, ...). Matrix
    products (``@``, ``torch.matmul``, ``torch.addmm``) are allowed. This file is graded on its own:
    write the sigmoid here rather than importing it from another exercise.
    """
    raise NotImplementedError
