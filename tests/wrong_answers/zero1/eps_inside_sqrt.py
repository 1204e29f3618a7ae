"""Puts eps inside the square root: sqrt(v_hat + eps)."""

import torch


def zero1_init(params: list[torch.Tensor], world_size: int) -> list[dict[str, torch.Tensor]]:
    """The optimizer state of each of ``world_size`` ranks before the first step: zero moments.

    Args:
        params: the model's parameters, a non-empty list of tensors of any shapes (0-d included),
            one dtype (float32 or float64) and one device. Only their sizes, dtype and device are used.
        world_size: N >= 1, the number of ranks.

    Returns:
        A list of N dicts; dict r is ``{"exp_avg": m_r, "exp_avg_sq": v_r}``, two zero 1-D tensors
        of the size of rank r's shard (the sizes of ``torch.tensor_split`` of the P flattened
        parameter entries into N parts), with the parameters' dtype and device.
    """
    total = sum(p.numel() for p in params)
    like = params[0]
    sizes = [s.numel() for s in torch.tensor_split(torch.empty(total, device="meta"), world_size)]
    return [{"exp_avg": torch.zeros(n, dtype=like.dtype, device=like.device),
             "exp_avg_sq": torch.zeros(n, dtype=like.dtype, device=like.device)} for n in sizes]


def zero1_step(params: list[torch.Tensor], grads: list[torch.Tensor], states: list[dict[str, torch.Tensor]],
               t: int, lr: float, beta1: float, beta2: float, eps: float,
               weight_decay: float) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    """One AdamW step with the moments sharded over ``len(states)`` ranks, then an all-gather.

    Args:
        params: the parameters, a list of tensors (any shapes, one dtype and device, possibly
            non-contiguous).
        grads: their gradients (already averaged over the ranks), the same shapes.
        states: N per-rank dicts as ``zero1_init`` makes them (or this function returns).
        t: the number of this step, 1 for the first.
        lr, beta1, beta2, eps, weight_decay: as in ``torch.optim.AdamW``.

    Returns:
        ``(params, states)``: the updated parameters (new tensors shaped like the inputs) and the N
        updated per-rank dicts (same sizes). Nothing passed in is modified.
    """
    n = len(states)
    # The flat view every rank agrees on: all parameters' entries, in order, one after another.
    # reshape copes with non-contiguous views; cat makes a new tensor, so nothing below touches
    # the caller's.
    flat_p = torch.cat([p.reshape(-1) for p in params])  # (P,)
    flat_g = torch.cat([g.reshape(-1) for g in grads])  # (P,)
    p_shards = torch.tensor_split(flat_p, n)  # rank r's slice: the first P % N ranks get one more
    g_shards = torch.tensor_split(flat_g, n)
    bc1 = 1.0 - beta1 ** t  # bias corrections of step t
    bc2_sqrt = (1.0 - beta2 ** t) ** 0.5

    updated, new_states = [], []
    for r in range(n):  # each rank updates only its own slice, with only its own moments
        p, g = p_shards[r], g_shards[r]
        m, v = states[r]["exp_avg"], states[r]["exp_avg_sq"]
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * g * g
        p = p * (1.0 - lr * weight_decay)  # decoupled decay, before the Adam step
        p = p - (lr / bc1) * m / (v / bc2_sqrt ** 2 + eps).sqrt()
        updated.append(p)
        new_states.append({"exp_avg": m, "exp_avg_sq": v})

    # All-gather: every rank receives every other rank's updated slice; here, one concatenation,
    # cut back into the parameters' shapes.
    flat_new = torch.cat(updated)
    pieces = torch.split(flat_new, [p.numel() for p in params])
    return [piece.view(p.shape) for piece, p in zip(pieces, params)], new_states
