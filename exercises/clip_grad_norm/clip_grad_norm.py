"""Exercise: clipping gradients by their global 2-norm."""

import torch


def clip_grad_norm(grads: list[torch.Tensor], max_norm: float,
                   eps: float = 1e-6) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Scale every gradient by one common factor so that their global 2-norm is at most ``max_norm``.

    Like ``torch.nn.utils.clip_grad_norm_``, but on a list of gradient tensors, returning new
    tensors instead of changing them in place::

        total = sqrt(sum over every tensor g in grads of sum(g ** 2))   # ONE norm for all of them
        coef  = min(max_norm / (total + eps), 1.0)
        clipped = [g * coef for g in grads]

    The norm is global: as if every gradient were flattened and concatenated into one vector.
    ``coef`` is clamped at 1, so gradients whose total norm is below ``max_norm`` come back
    unchanged (never scaled up); all-zero gradients come back as zeros, never NaN.

    Args:
        grads: a non-empty list of gradient tensors of any shapes (0-d and empty tensors included),
            all of one dtype (float32 or float64) and on one device, possibly non-contiguous.
        max_norm: the largest global norm allowed, a float > 0.
        eps: added to ``total`` before dividing, a float >= 0 (torch uses 1e-6).

    Returns:
        ``(clipped, total)``:
        - clipped: a list with one new tensor per gradient, in order, each with its gradient's
          shape, dtype and device.
        - total: the global norm of the gradients *before* clipping, a 0-d tensor with the
          gradients' dtype and device (not a Python float).
        The tensors in ``grads`` are left unchanged.

    Forbidden: ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_norm``,
    ``torch.nn.utils.get_total_norm``, ``torch.nn.utils.clip_grads_with_norm_`` and
    ``torch._foreach_norm``. ``torch.linalg.vector_norm`` (one tensor's norm) is allowed.
    """
    raise NotImplementedError
