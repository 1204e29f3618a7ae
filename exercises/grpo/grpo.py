"""Exercise: GRPO's group-normalised advantages and its clipped policy-gradient loss with a KL penalty."""

import torch


def group_advantages(rewards: torch.Tensor, group_size: int, eps: float = 1e-4) -> torch.Tensor:
    """Each completion's reward normalised within the group of completions sampled for its prompt.

    ``rewards`` holds ``N`` groups of ``G = group_size`` completions, one group after the other:
    completions ``g*G .. g*G + G - 1`` answer prompt ``g``. For completion ``i`` of group ``g``::

        advantage = (r_i - mean_g) / (std_g + eps)

    where ``mean_g`` and ``std_g`` are the mean and the **unbiased** standard deviation (divided by
    ``G - 1``, as ``torch.std`` does by default) of the group's ``G`` rewards. A group whose rewards
    are all equal gets advantages of 0.

    Args:
        rewards: shape ``(N * G,)``, float32 or float64, on any device, any finite values; may be
            a non-contiguous view.
        group_size: ``G >= 2``, a Python int dividing ``rewards.numel()``.
        eps: a non-negative Python float added to the standard deviation (not to the variance).

    Returns:
        A new tensor of shape ``(N * G,)`` with ``rewards``' dtype and device, in the same order.
        ``rewards`` is left unchanged.
    """
    raise NotImplementedError


def grpo_loss(logps: torch.Tensor, old_logps: torch.Tensor, ref_logps: torch.Tensor, advantages: torch.Tensor,
              completion_mask: torch.Tensor, clip_eps: float = 0.2,
              beta: float = 0.04) -> tuple[torch.Tensor, torch.Tensor]:
    """The GRPO loss (DeepSeekMath, Shao et al. 2024) of B sampled completions, and their mean KL estimate.

    Per completion token (i, t), with ``A_i = advantages[i]`` shared by all the tokens of completion i::

        ratio = exp(logps - old_logps)
        pg    = -min(ratio * A_i, clip(ratio, 1 - clip_eps, 1 + clip_eps) * A_i)
        kl    = exp(ref_logps - logps) - (ref_logps - logps) - 1          (the k3 estimator, >= 0)
        per_token = pg + beta * kl

    Aggregation: the mean over each completion's own tokens (``completion_mask`` True), then the
    mean over the B completions::

        loss    = (1/B) sum_i [ sum_t mask[i, t] * per_token[i, t] / sum_t mask[i, t] ]
        mean_kl = the same aggregation of kl alone

    Args:
        logps: shape ``(B, T)``, the current policy's log-probabilities of the sampled completion
            tokens, float32 or float64, on any device; may be a non-contiguous view.
        old_logps: shape ``(B, T)``, the same tokens' log-probabilities under the policy that
            sampled them (the ratio's denominator).
        ref_logps: shape ``(B, T)``, under the frozen reference model.
        advantages: shape ``(B,)``, one advantage per completion (e.g. from :func:`group_advantages`).
        completion_mask: bool tensor of shape ``(B, T)``: True for the completion's tokens, False
            for the padding after it. Every completion holds at least one token. The log-probs at
            padding positions are finite values of the same kind, and must not affect the result.
        clip_eps: the clipping range, a Python float in (0, 1).
        beta: the weight of the KL penalty, a non-negative Python float.

    Returns:
        A tuple ``(loss, mean_kl)`` of two 0-d tensors with ``logps``' dtype and device. The inputs
        are left unchanged.
    """
    raise NotImplementedError
