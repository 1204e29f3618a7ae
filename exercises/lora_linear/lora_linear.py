"""Exercise: the forward pass of a linear layer with a low-rank (LoRA) adapter."""

import torch


def lora_linear(x: torch.Tensor, W: torch.Tensor, A: torch.Tensor, B: torch.Tensor, alpha: float) -> torch.Tensor:
    """A frozen linear layer plus a trainable low-rank update, applied without merging them.

    With ``r = A.shape[0]`` (the adapter's rank)::

        y = x Wᵀ + (alpha / r) · (x Aᵀ) Bᵀ

    which equals ``x (W + (alpha / r) B A)ᵀ`` — but the (out, in) matrix ``B A`` (or ``W + BA``)
    must never be formed: a memory check runs this function with a 48 MiB ``W`` and allows
    24 MiB of extra memory, so a W-sized temporary fails it while output-sized ones are fine.

    Args:
        x: inputs, shape ``(..., in)`` (1-D included), float32 or float64, on any device.
        W: the frozen weight, shape ``(out, in)``, ``x``'s dtype and device.
        A: the adapter's down-projection, shape ``(r, in)``.
        B: the adapter's up-projection, shape ``(out, r)`` (all zeros at initialisation).
        alpha: the adapter's scaling numerator, a float (or int); the update is scaled by alpha / r.

    Returns:
        A new tensor of shape ``(..., out)`` with ``x``'s dtype and device. No input is modified.

    Nothing is forbidden but forming the merged matrix; ``torch.nn.functional.linear`` and ``@`` are fine.
    """
    raise NotImplementedError
