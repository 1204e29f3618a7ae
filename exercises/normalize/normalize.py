"""Exercise: min-max normalisation of the columns of a data matrix."""

import torch


def normalize(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scale each column of ``x`` linearly so that its smallest value becomes 0 and its largest 1.

    For every column j, with m_j = min_i x[i, j] and M_j = max_i x[i, j]::

        x_scaled[i, j] = (x[i, j] - m_j) / (M_j - m_j)      if M_j > m_j
        x_scaled[i, j] = 0                                   if M_j == m_j  (a constant column)

    Args:
        x: the data, shape (n, d) with n >= 1 rows (samples) and d >= 1 columns (features),
            float32 or float64, on any device, possibly non-contiguous.

    Returns:
        ``(x_scaled, col_min, col_max)``:
        - x_scaled: shape (n, d), every entry in [0, 1]; a constant column is all zeros, never NaN.
        - col_min: shape (d,), the column minima m_j.
        - col_max: shape (d,), the column maxima M_j.
        All three are new tensors with ``x``'s dtype and device; ``x`` itself is left unchanged.
        ``col_min`` and ``col_max`` let the same transform be applied to new data later
        (validation or test rows), whose scaled values may then fall outside [0, 1].

    Forbidden: nothing; a Python loop over rows or columns is too slow for the timing check.
    """
    raise NotImplementedError
