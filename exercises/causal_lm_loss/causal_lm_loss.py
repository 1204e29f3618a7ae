"""Exercise: the next-token loss of a causal language model, and its perplexity."""

import torch


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor,
                   ignore_index: int = -100) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean next-token cross-entropy over the real tokens of a batch, and the perplexity exp(loss).

    Position ``t`` of a sequence predicts the token at position ``t + 1``: ``logits[b, t]`` is scored
    against ``labels[b, t + 1]``, for ``t = 0 .. T-2``. The pair is a *real* target unless
    ``labels[b, t + 1] == ignore_index``. With ``z = logits[b, t]`` and ``c = labels[b, t + 1]``::

        loss_bt = logsumexp(z) - z_c,      logsumexp(z) = m + log(sum_v exp(z_v - m)),  m = max_v z_v
        loss = (sum of loss_bt over real targets) / N          N = number of real targets, whole batch
        perplexity = exp(loss)

    One mean over every real token of the batch: not a mean of per-sequence means, and ignored
    positions count neither in the sum nor in N. ``labels[:, 0]`` is never a target (nothing
    predicts it) and ``logits[:, T-1]`` is never scored (nothing follows it).

    Args:
        logits: shape ``(B, T, V)``, float16, bfloat16, float32 or float64, on any device;
            entries may be as large as ±1e4. ``B >= 1``, ``T >= 1``, ``V >= 1``.
        labels: int64 tensor of shape ``(B, T)`` on ``logits``' device: the token ids of the
            sequences, with ``ignore_index`` wherever a token must not be predicted (padding, a
            prompt). Every other entry is in ``[0, V)``.
        ignore_index: the label value that marks an ignored position. The default -100 is no
            token id; it may also be a real id in ``[0, V)`` (a pad id), and then every label
            equal to it is ignored.

    Returns:
        ``(loss, perplexity)``, two 0-d tensors (shape ``()``) on ``logits``' device. Their dtype
        is float32 for float16 or bfloat16 logits (upcast the logits to float32 before the
        log-sum-exp and compute in float32), and ``logits``' own dtype for float32 and float64.
        Both are finite for finite logits; if the batch has no real target at all (N = 0), both
        are NaN (0 / 0: there is nothing to average). ``logits`` and ``labels`` are left unchanged.

    Forbidden: ``torch.nn.functional.cross_entropy``, ``torch.nn.CrossEntropyLoss``,
    ``torch.nn.functional.nll_loss``, ``torch.nn.NLLLoss``, the log-softmax family,
    ``torch.logsumexp`` and ``torch.logcumsumexp`` (by any name) — however they are reached:
    the log-sum-exp is yours to write. ``torch.exp``, ``torch.log``, ``amax``, ``gather``,
    ``torch.where`` and indexing are allowed.
    """
    raise NotImplementedError
