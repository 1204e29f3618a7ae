"""Exercise: the knowledge-distillation loss of Hinton et al. (2015)."""

import torch


def distill_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, T: float) -> torch.Tensor:
    """How far the student's softened distribution is from the teacher's, scaled by T².

    With ``p = softmax(teacher_logits / T)`` and ``q = softmax(student_logits / T)`` over the
    last dimension (the classes)::

        loss = T² · Σ p · (log p − log q) / N

    where the sum runs over every element and ``N = student_logits.shape[0]`` is the batch size
    (for ``(N, S, C)`` logits the S positions are summed, not averaged, like
    ``reduction="batchmean"``). KL(p ‖ q) is ≥ 0 and 0 exactly when the distributions agree.

    Args:
        student_logits: ``(N, C)`` or ``(N, ..., C)``, float32 or float64, on any device. Not modified.
        teacher_logits: the teacher's logits, same shape, dtype and device. Not modified.
        T: the temperature, a positive number (float or int); T > 1 softens both distributions.

    Returns:
        A 0-d tensor (shape ``()``) with the logits' dtype and device. Finite for any finite
        logits, however large their gaps (a class whose teacher probability underflows to 0
        contributes 0).

    Forbidden: ``torch.nn.functional.kl_div``, ``torch.kl_div``, ``torch.nn.KLDivLoss`` — by any
    route. ``torch.log_softmax`` and ``torch.softmax`` are allowed.
    """
    raise NotImplementedError
