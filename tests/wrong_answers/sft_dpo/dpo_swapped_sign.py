"""Subtracts the chosen log-ratio from the rejected one: prefers the rejected response."""

import torch


def _token_logprobs(logits: torch.Tensor, tokens: torch.Tensor,
                    response_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of tokens 1 .. T-1, each under the logits of the position before, and their mask."""
    logp = torch.log_softmax(logits[:, :-1], dim=-1)  # (B, T-1, V): position t predicts token t + 1
    targets = tokens[:, 1:]  # (B, T-1): the tokens those positions predict
    picked = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T-1)
    mask = response_mask[:, 1:]  # aligned with the targets, not with the logits
    # where, not a product: a masked entry contributes an exact 0 whatever its log-prob.
    return torch.where(mask, picked, torch.zeros((), dtype=picked.dtype, device=picked.device)), mask


def sequence_logprobs(logits: torch.Tensor, tokens: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
    """Sum over the response tokens of log p(token | tokens before it), per sequence: shape (B,)."""
    picked, _ = _token_logprobs(logits, tokens, response_mask)
    return picked.sum(dim=-1)


def sft_loss(logits: torch.Tensor, tokens: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood over every response token of the batch (one mean, not a mean of means)."""
    picked, mask = _token_logprobs(logits, tokens, response_mask)
    return -picked.sum() / mask.sum()


def dpo_loss(policy_chosen_logps: torch.Tensor, policy_rejected_logps: torch.Tensor,
             ref_chosen_logps: torch.Tensor, ref_rejected_logps: torch.Tensor,
             beta: float = 0.1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """-mean log σ(β((πc − rc) − (πr − rr))) and the implicit rewards β(πc − rc), β(πr − rr)."""
    chosen_rewards = beta * (policy_chosen_logps - ref_chosen_logps)  # (B,)
    rejected_rewards = beta * (policy_rejected_logps - ref_rejected_logps)  # (B,)
    z = rejected_rewards - chosen_rewards
    # log σ(z) = min(z, 0) − log(1 + e^(−|z|)): the exponent is never positive, so nothing overflows.
    log_sigmoid = torch.clamp(z, max=0) - torch.log1p(torch.exp(-z.abs()))
    return -log_sigmoid.mean(), chosen_rewards, rejected_rewards
