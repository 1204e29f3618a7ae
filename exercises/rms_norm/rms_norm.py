"""Exercise: RMS normalisation over the last dimension."""

import torch


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Root-mean-square normalisation of the last dimension, then a per-feature gain.

    For each vector ``v = x[..., :]`` of length ``d``::

        rms(v) = sqrt(mean(v ** 2) + eps)        # eps INSIDE the square root
        y      = v / rms(v) * weight

    No mean is subtracted and there is no bias (that is layer norm).

    Args:
        x: a tensor of shape ``(..., d)`` (any number of leading dimensions, at least one
            dimension in all), float32 or float64, on any device.
        weight: the gain, shape ``(d,)``, same dtype and device as ``x``.
        eps: a Python float added to the mean square before the square root.

    Returns:
        A new tensor shaped like ``x``, with its dtype and device. ``x`` and ``weight`` are left
        unchanged.

    Forbidden: ``torch.nn.functional.rms_norm``, ``torch.rms_norm``, ``torch.nn.RMSNorm`` and the
    layer-norm family (``torch.nn.functional.layer_norm``, ``torch.nn.LayerNorm``) — however
    they are reached.
    """
    raise NotImplementedError
