"""Exercise: the binary cross-entropy loss."""

import torch


def bce_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over every element, as torch.nn.functional.binary_cross_entropy.

        ℓ_i  = −( y_i · max(log p_i, −100) + (1 − y_i) · max(log(1 − p_i), −100) )
        loss = mean over all i of ℓ_i

    Each log term is clamped at −100 *before* it is multiplied by its label, so predictions of
    exactly 0 or 1 give a finite loss (0 · (−100) = 0, never 0 · (−inf) = NaN), and any prediction
    so close to 0 or 1 that its log is below −100 counts as −100 too.

    Args:
        y_pred: predicted probabilities p, any shape, every entry in [0, 1]; float32 or float64.
        y_true: labels y, the same shape, dtype and device, every entry in [0, 1]: hard labels
            (0 or 1) or soft ones (0.3, say).

    Returns:
        A 0-d tensor (not a Python float, not shape (1,)) with the inputs' dtype and device: the
        mean of ℓ over all elements (divided by y_pred.numel(), not by the batch size).
        The inputs are left unchanged.

    Forbidden: ``torch.nn.functional.binary_cross_entropy``, ``..._with_logits``,
    ``torch.nn.BCELoss``, ``torch.nn.BCEWithLogitsLoss`` and their ATen operators, however reached.
    """
    raise NotImplementedError
