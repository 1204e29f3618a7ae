"""Exercise: the backward pass of the two-layer sigmoid MLP under binary cross-entropy."""

import torch


def mlp_backward(x: torch.Tensor, y: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
                 b2: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss of the MLP on (x, y) and its gradient with respect to every parameter, by hand.

    Forward (as in mlp_forward and bce_loss):

        h    = σ(x @ W1 + b1)                     # (batch, d_hidden)
        p    = σ(h @ W2 + b2)                     # (batch, d_out)
        loss = mean over all batch·d_out entries of −(y·log p + (1 − y)·log(1 − p))
               (each log clamped at −100, as torch.nn.functional.binary_cross_entropy does)

    Backward: ∂loss/∂W1, ∂loss/∂b1, ∂loss/∂W2, ∂loss/∂b2, derived with the chain rule and computed
    with matrix products — the mean over batch·d_out entries is part of the loss, so it is part of
    every gradient.

    Args:
        x: inputs, shape (batch, d_in). batch may be 1.
        y: labels, shape (batch, d_out), entries in [0, 1] (hard or soft).
        W1: (d_in, d_hidden).   b1: (d_hidden,).
        W2: (d_hidden, d_out).  b2: (d_out,). d_out may be 1.
        All six share one dtype (float32 or float64) and one device; any may be non-contiguous.

    Returns:
        ``(loss, grads)``: ``loss`` a 0-d tensor; ``grads`` a dict with exactly the keys
        ``"W1"``, ``"b1"``, ``"W2"``, ``"b2"``, each a new tensor shaped like that parameter.
        Everything has the inputs' dtype and device; no input is modified. (The checks keep the
        outputs p away from exactly 0 and 1, where torch's clamp would change the gradient.)

    Forbidden: autograd in any form (``.backward()``, ``torch.autograd``, ``torch.func``,
    ``requires_grad``), the library sigmoid and binary cross-entropy (and their backward kernels),
    and everything in ``torch.nn``. This file is graded on its own: write the forward pass here
    rather than importing it from another exercise.
    """
    raise NotImplementedError
