"""Exercise: mean cross-entropy of logits against class indices."""

import torch


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of the target classes under ``softmax(logits)``.

    For each row ``n``, with ``z = logits[n]`` and ``c = targets[n]``::

        loss_n = -log softmax(z)_c = logsumexp(z) - z_c
        logsumexp(z) = m + log(sum_j exp(z_j - m))       with m = max_j z_j

    and the result is ``mean_n loss_n``. Computing ``log(softmax(z))`` directly underflows to
    ``log(0) = -inf`` when ``z_c`` is far below the largest logit; the identity above never does.

    Args:
        logits: shape ``(N, C)``, float32 or float64, on any device; entries may be as large
            as ±1e4. ``N >= 1``, ``C >= 1``.
        targets: int64 tensor of shape ``(N,)`` on ``logits``' device, each in ``[0, C)``.

    Returns:
        A 0-d tensor (shape ``()``) with ``logits``' dtype and device: the mean over the N rows.
        Finite for every finite input. ``logits`` and ``targets`` are left unchanged.

    Forbidden: ``torch.nn.functional.cross_entropy``, ``torch.nn.CrossEntropyLoss``,
    ``torch.nn.functional.nll_loss``, ``torch.nn.NLLLoss``, the log-softmax family and
    ``torch.logsumexp`` (by any name) — however they are reached: the log-sum-exp trick is
    the exercise. ``torch.softmax`` is allowed, though it does not help (see the pitfalls).
    """
    raise NotImplementedError
