"""Reference solution: min-max normalisation of the columns of a data matrix."""

import torch


def normalize(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scale each column of ``x`` (n, d) to [0, 1]; a constant column maps to 0."""
    col_min = x.amin(dim=0)  # (d,)
    col_max = x.amax(dim=0)  # (d,)
    span = col_max - col_min
    # A constant column has span 0: divide by 1 there, so (x - min) / 1 = 0 and no NaN appears.
    span = torch.where(span > 0, span, torch.ones_like(span))
    return (x - col_min) / span, col_min, col_max
