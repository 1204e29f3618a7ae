"""Exercise: unstructured magnitude pruning of a weight tensor."""

import torch


def prune(w: torch.Tensor, sparsity: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero the smallest-magnitude entries of ``w`` and say which ones were kept.

    Exactly ``k = round(sparsity * w.numel())`` entries are zeroed (Python's ``round``: halves go
    to the even integer, so 2.5 → 2 and 3.5 → 4): those with the smallest ``|w|``. Among entries of
    equal magnitude, the one with the lower flat index (its position in ``w.flatten()``, row-major
    over ``w``'s shape, whatever its strides) is pruned first. ``w`` and ``-w`` have the same magnitude.

    Args:
        w: weights of any shape (0-d and empty included), float32 or float64, finite, on any
            device. Not modified.
        sparsity: the fraction of entries to zero, a float in [0, 1]; 0 prunes nothing and 1
            prunes everything.

    Returns:
        ``(pruned, mask)``, both of ``w``'s shape and device: ``pruned`` has ``w``'s dtype, equal
        to ``w`` where kept and 0 where pruned; ``mask`` is ``torch.bool``, True where the entry
        is kept. ``mask`` has exactly ``w.numel() - k`` True entries.

    Forbidden: everything in ``torch.nn.utils.prune``. Sorting (``torch.sort``, ``torch.argsort``,
    ``torch.topk``, ``torch.kthvalue``) is allowed.
    """
    raise NotImplementedError
