"""Exercise: the SwiGLU feed-forward layer."""

import torch


def swiglu(x: torch.Tensor, W1: torch.Tensor, W2: torch.Tensor, W3: torch.Tensor) -> torch.Tensor:
    """The gated feed-forward layer of LLaMA-style transformers, without biases.

    Weights follow the ``nn.Linear`` convention (``y = x @ W.T``)::

        SiLU(z) = z · σ(z) = z / (1 + exp(−z))
        a = x @ W1.T                       # (..., d_ff)  the gate's input
        b = x @ W3.T                       # (..., d_ff)  the value
        y = (SiLU(a) * b) @ W2.T           # (..., d_model)

    Args:
        x: the input, shape ``(..., d_model)``: any number of leading dimensions (none, a batch,
            batch and time), float32 or float64, on any device, possibly non-contiguous.
        W1: the gate projection, shape ``(d_ff, d_model)``, ``x``'s dtype and device.
        W2: the output projection, shape ``(d_model, d_ff)``.
        W3: the value projection, shape ``(d_ff, d_model)``.

    Returns:
        A new tensor of shape ``(..., d_model)`` (``x``'s shape), with ``x``'s dtype and device.
        Finite whenever the inputs are: gate pre-activations of ±1000 included. No input is
        modified.

    Forbidden: ``torch.nn.functional.silu`` and ``torch.nn.SiLU`` — however they are reached.
    ``torch.sigmoid`` is allowed.
    """
    raise NotImplementedError
