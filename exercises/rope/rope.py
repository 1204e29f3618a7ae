"""Exercise: rotary position embedding (RoPE), interleaved pairs."""

import torch


def rope(x: torch.Tensor, positions: torch.Tensor, theta: float = 10000.0) -> torch.Tensor:
    """Rotate each pair of features ``(2i, 2i+1)`` of ``x`` by an angle set by its position.

    With ``d = x.shape[-1]`` (even) and ``i = 0, 1, ..., d/2 - 1``::

        freq[i]     = theta ** (-2 * i / d)                  # (d/2,)
        angle[t, i] = positions[t] * freq[i]                 # (T, d/2)
        y[..., t, 2i]   = x[..., t, 2i] * cos(angle[t, i]) - x[..., t, 2i+1] * sin(angle[t, i])
        y[..., t, 2i+1] = x[..., t, 2i] * sin(angle[t, i]) + x[..., t, 2i+1] * cos(angle[t, i])

    Pairs are ADJACENT features (the interleaved convention of the original RoFormer paper and
    of Llama's complex-number code), not ``(i, i + d/2)``. Every leading dimension of ``x``
    (batch, heads) shares the same ``positions``.

    Args:
        x: a tensor of shape ``(..., T, d)``, ``d`` even, float32 or float64, on any device.
        positions: int64 tensor of shape ``(T,)`` on ``x``'s device: the position of each row of
            ``x``. Not necessarily ``0..T-1``: a cache continues from an offset.
        theta: the base of the frequencies, a Python float.

    Returns:
        A new tensor shaped like ``x``, with its dtype and device. Frequencies and angles are
        computed in ``x``'s dtype (float64 inputs need float64 angles). ``x`` and ``positions``
        are left unchanged.

    Forbidden: nothing beyond the general rules; ``torch.polar`` and complex tensors are allowed.
    """
    raise NotImplementedError
