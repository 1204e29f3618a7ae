"""Exercise: layer normalisation over the last dimension."""

import torch


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Normalise each vector along the last dimension to zero mean and unit variance, then scale and shift.

    For each vector ``v = x[..., :]`` of length ``d``::

        mu  = mean(v)
        var = mean((v - mu) ** 2)                 # biased: divide by d, not d - 1
        y   = (v - mu) / sqrt(var + eps) * weight + bias      # eps INSIDE the square root

    Args:
        x: a tensor of shape ``(..., d)`` (at least one dimension), float32 or float64, on any
            device. Entries may share a large common offset (say 1e4): the result must still be
            accurate, so compute the variance from ``v - mu``, not as ``mean(v**2) - mu**2``.
        weight: the gain, shape ``(d,)``, ``x``'s dtype and device.
        bias: the shift, shape ``(d,)``, ``x``'s dtype and device.
        eps: a Python float added to the variance before the square root.

    Returns:
        A new tensor shaped like ``x``, with its dtype and device. No input is modified.

    Forbidden: ``torch.nn.functional.layer_norm``, ``torch.layer_norm``, ``torch.nn.LayerNorm``
    and the other normalisation layers that compute the same thing after a reshape
    (``group_norm``, ``instance_norm``, ``batch_norm``, ``rms_norm`` and their modules) — however
    they are reached. ``torch.mean`` and ``torch.var`` are allowed.
    """
    raise NotImplementedError
