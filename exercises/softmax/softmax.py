"""Exercise: a numerically stable softmax."""

import torch


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax of ``x`` along ``dim``: exponentials normalised to sum to one.

    For each slice ``v`` of ``x`` along ``dim``::

        softmax(v)_j = exp(v_j - m) / sum_k exp(v_k - m)      with m = max_k v_k

    Subtracting the slice's maximum changes nothing mathematically and keeps every
    exponential in (0, 1], so no slice overflows.

    Args:
        x: a tensor of any shape with at least one dimension, float32 or float64, on any device.
            Entries may be as large as ±1e4, and may be ``-inf`` (weight 0), as long as every
            slice has at least one finite entry. A slice made entirely of ``-inf`` is outside
            the contract and is not checked.
        dim: the dimension to normalise, a Python int; negative values count from the end.

    Returns:
        A new tensor shaped like ``x``, with its dtype and device: non-negative, summing to 1
        along ``dim``, never NaN or inf for inputs within the contract. ``x`` is left unchanged.

    Forbidden: ``torch.softmax``, ``Tensor.softmax``, ``torch.nn.functional.softmax``,
    ``torch.special.softmax``, ``torch.nn.Softmax``, ``softmin``, the log-softmax family (``log_softmax`` by
    any name) and ``torch.logsumexp`` — however they are reached. ``torch.exp``, ``torch.max``,
    ``torch.amax`` and ``torch.sum`` are what you need.
    """
    raise NotImplementedError
