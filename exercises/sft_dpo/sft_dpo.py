"""Exercise: response-masked sequence log-probabilities, the SFT loss and the DPO loss."""

import torch


def sequence_logprobs(logits: torch.Tensor, tokens: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
    """Sum of the log-probabilities a causal language model gives the response tokens of each sequence.

    ``logits[b, t]`` are the model's scores for the token that comes after position ``t``, so token
    ``tokens[b, t]`` (for ``t >= 1``) is scored by ``logits[b, t - 1]``::

        logp[b, t] = log_softmax(logits[b, t - 1])[tokens[b, t]]
        result[b]  = sum over t = 1 .. T-1 with response_mask[b, t] of logp[b, t]

    Prompt and padding tokens (``response_mask`` False) count for nothing. Position 0 has no
    prediction: ``response_mask[:, 0]`` is ignored, and ``logits[:, T - 1]`` (which predicts a
    token beyond the sequence) is never used.

    Args:
        logits: shape ``(B, T, V)``, float32 or float64, on any device; may be non-contiguous and
            as large as ±1e3 (the log-softmax must stay finite). ``B >= 1``, ``T >= 2``, ``V >= 1``.
        tokens: int64 tensor of shape ``(B, T)`` on ``logits``' device, every entry in ``[0, V)``
            (padding positions hold valid ids too).
        response_mask: bool tensor of shape ``(B, T)`` on the same device: True where
            ``tokens[b, t]`` is a response token to be scored.

    Returns:
        A tensor of shape ``(B,)`` with ``logits``' dtype and device: the sum (not the mean) of
        the response tokens' log-probabilities; 0 for a sequence with no response token.
        The inputs are left unchanged.
    """
    raise NotImplementedError


def sft_loss(logits: torch.Tensor, tokens: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
    """Supervised fine-tuning loss: the mean negative log-likelihood over every response token of the batch.

    With ``logp`` and the shift as in :func:`sequence_logprobs`::

        loss = -(sum over b, t >= 1 with response_mask[b, t] of logp[b, t]) / (number of those (b, t))

    one mean over all the response tokens of the batch, so a long response weighs more than a
    short one (not the mean of per-sequence means).

    Args:
        logits, tokens, response_mask: as in :func:`sequence_logprobs`. The batch holds at least one
            response token at a position ``t >= 1``; a sequence may hold none.

    Returns:
        A 0-d tensor with ``logits``' dtype and device. The inputs are left unchanged.
    """
    raise NotImplementedError


def dpo_loss(policy_chosen_logps: torch.Tensor, policy_rejected_logps: torch.Tensor,
             ref_chosen_logps: torch.Tensor, ref_rejected_logps: torch.Tensor,
             beta: float = 0.1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Direct Preference Optimisation loss (Rafailov et al., 2023) and the implicit rewards.

    For each preference pair b, with sequence log-probabilities of the chosen and the rejected
    response under the policy being trained and under the frozen reference model::

        chosen_rewards[b]   = beta * (policy_chosen_logps[b]   - ref_chosen_logps[b])
        rejected_rewards[b] = beta * (policy_rejected_logps[b] - ref_rejected_logps[b])
        loss = -mean over b of log sigmoid(chosen_rewards[b] - rejected_rewards[b])

    log sigmoid(z) must be computed stably: finite for every finite z, ``-z`` for z << 0 and 0 for
    z >> 0 (``log(sigmoid(z))`` gives ``-inf`` once ``sigmoid(z)`` rounds to 0).

    Args:
        policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps: four
            tensors of shape ``(B,)``, ``B >= 1``, float32 or float64 (all the same), one device;
            any finite values (sums of log-probs are <= 0 in practice, but nothing relies on it).
            They may be non-contiguous views.
        beta: a positive Python float, the strength of the implicit KL penalty.

    Returns:
        A tuple ``(loss, chosen_rewards, rejected_rewards)``: ``loss`` a 0-d tensor, the rewards
        tensors of shape ``(B,)``, all with the inputs' dtype and device. The inputs are left
        unchanged.
    """
    raise NotImplementedError
