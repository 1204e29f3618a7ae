"""Reports a dropped assignment's overflow position instead of -1."""

import math

import torch


def moe_route(logits: torch.Tensor, k: int,
              capacity_factor: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pick k experts per token, seat the assignments in capacity-limited buffers, compute the aux loss."""
    N, E = logits.shape
    capacity = math.ceil(capacity_factor * N * k / E)
    probs = torch.softmax(logits, dim=-1)  # (N, E): the full router distribution
    top_p, expert = torch.topk(probs, k, dim=-1)  # (N, k), best first
    weights = top_p / top_p.sum(dim=-1, keepdim=True)  # renormalised over the k chosen experts

    # Priority: every token's first choice before any second choice, tokens in order within a rank.
    # Flatten the assignments choice-major, (k, N) -> (k·N,), and count per expert with a cumsum.
    onehot = torch.nn.functional.one_hot(expert.T.reshape(-1), E)  # (k·N, E) int64
    position = (onehot.cumsum(dim=0) - 1) * onehot  # place in its expert's queue, 0 elsewhere
    slot = position.sum(dim=-1).view(k, N).T  # (N, k): earlier assignments to the same expert
    dropped = slot >= capacity
    combine = torch.where(dropped, torch.zeros_like(weights), weights)  # no renormalisation after drops

    # Switch-style balance loss on the choices before capacity: E · Σ_i f_i · P_i.
    f = onehot.sum(dim=0).to(logits.dtype) / N  # (E,): share of tokens that chose expert i (sums to k)
    P = probs.mean(dim=0)  # (E,): mean router probability
    aux = E * (f * P).sum()
    return expert, slot, combine, dropped, aux
