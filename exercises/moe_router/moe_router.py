"""Exercise: top-k routing of tokens to experts, with expert capacity and the load-balancing loss."""

import torch


def moe_route(logits: torch.Tensor, k: int,
              capacity_factor: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Route N tokens to k of E experts each, seat them in buffers of fixed capacity, and score the balance.

    With ``p = softmax(logits, dim=-1)`` (N, E) and ``C = ceil(capacity_factor * N * k / E)``::

        expert[n]  = the k experts of largest p[n], best first                      # (N, k)
        weight[n, j] = p[n, expert[n, j]] / sum_j' p[n, expert[n, j']]            # renormalised (Mixtral)
        slot[n, j] = how many assignments to expert[n, j] come before (n, j) in priority order
        dropped[n, j] = slot[n, j] >= C

    Priority order: every token's first choice (j = 0) before any token's second choice (j = 1),
    and so on; within one rank j, tokens in index order n = 0, 1, ... (the GShard rule). A dropped
    assignment gets ``slot = -1`` and combine weight 0; the token's other weights are NOT
    renormalised. The auxiliary load-balancing loss (Switch Transformer, top-k as in Mixtral)::

        f[i] = (number of tokens n with i among expert[n]) / N    # counted BEFORE capacity; sums to k
        P[i] = mean over n of p[n, i]                             # the full softmax; sums to 1
        aux  = E * sum_i f[i] * P[i]                              # k when perfectly balanced

    Args:
        logits: router logits, shape (N, E) (tokens × experts, batch and sequence flattened), float32
            or float64, any device, finite (possibly large: shift them by 1000 and nothing changes).
            No two experts of a token tie for a place among its top k.
        k: experts per token, a Python int with 1 <= k <= E.
        capacity_factor: a positive Python float; C = math.ceil(capacity_factor * N * k / E).

    Returns:
        ``(expert, slot, combine, dropped, aux)``, all on ``logits``' device:
        ``expert`` int64 (N, k), each row in decreasing probability; ``slot`` int64 (N, k), the place
        in the expert's buffer (0 .. C-1) or -1 where dropped; ``combine`` (N, k) in ``logits``' dtype,
        the renormalised weights with 0 where dropped; ``dropped`` bool (N, k); ``aux`` a 0-d tensor in
        ``logits``' dtype. ``logits`` is left unchanged.

    Forbidden: nothing beyond the general rules; ``torch.topk``, ``torch.softmax``, ``one_hot``,
    ``cumsum``, ``scatter`` and ``sort`` are allowed. A Python loop over tokens is too slow for the
    timing check.
    """
    raise NotImplementedError
