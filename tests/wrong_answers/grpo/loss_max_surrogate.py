"""Takes the maximum of the two surrogates: the optimistic bound, no clipping in effect."""

import torch


def group_advantages(rewards: torch.Tensor, group_size: int, eps: float = 1e-4) -> torch.Tensor:
    """(r - mean of its group) / (unbiased std of its group + eps), groups of group_size consecutive rewards."""
    grouped = rewards.reshape(-1, group_size)  # (N, G): row g holds the completions of prompt g
    mean = grouped.mean(dim=1, keepdim=True)
    std = grouped.std(dim=1, keepdim=True)  # unbiased (divides by G - 1)
    return ((grouped - mean) / (std + eps)).reshape(-1)


def grpo_loss(logps: torch.Tensor, old_logps: torch.Tensor, ref_logps: torch.Tensor, advantages: torch.Tensor,
              completion_mask: torch.Tensor, clip_eps: float = 0.2,
              beta: float = 0.04) -> tuple[torch.Tensor, torch.Tensor]:
    """Clipped surrogate plus beta times the k3 KL, averaged over each completion's tokens, then over completions."""
    adv = advantages[:, None]  # (B, 1): one advantage for every token of a completion
    ratio = torch.exp(logps - old_logps)  # (B, T)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * adv
    pg = -torch.maximum(unclipped, clipped)  # the pessimistic surrogate, negated: a loss to minimise
    diff = ref_logps - logps
    kl = torch.exp(diff) - diff - 1.0  # k3: unbiased for KL(pi || pi_ref) and never negative
    mask = completion_mask.to(logps.dtype)
    lengths = mask.sum(dim=1)  # (B,): tokens per completion, at least one

    def aggregate(per_token: torch.Tensor) -> torch.Tensor:
        return ((per_token * mask).sum(dim=1) / lengths).mean()

    return aggregate(pg + beta * kl), aggregate(kl)
