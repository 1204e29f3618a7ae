"""Shards each parameter on its own (rank r holds 1/N of every tensor) instead of the flattened model."""

import torch


def _pieces(t: torch.Tensor, n: int):
    return torch.tensor_split(t.reshape(-1), n)


def zero1_init(params: list[torch.Tensor], world_size: int) -> list[dict[str, torch.Tensor]]:
    sizes = [sum(_pieces(p, world_size)[r].numel() for p in params) for r in range(world_size)]
    like = params[0]
    return [{"exp_avg": torch.zeros(n, dtype=like.dtype, device=like.device),
             "exp_avg_sq": torch.zeros(n, dtype=like.dtype, device=like.device)} for n in sizes]


def zero1_step(params: list[torch.Tensor], grads: list[torch.Tensor], states: list[dict[str, torch.Tensor]],
               t: int, lr: float, beta1: float, beta2: float, eps: float,
               weight_decay: float) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    n = len(states)
    bc1, bc2_sqrt = 1.0 - beta1 ** t, (1.0 - beta2 ** t) ** 0.5
    p_pieces = [_pieces(p, n) for p in params]  # [param][rank]
    g_pieces = [_pieces(g, n) for g in grads]
    new_pieces = [[None] * n for _ in params]
    new_states = []
    for r in range(n):
        p = torch.cat([pp[r] for pp in p_pieces])  # rank r's piece of every parameter
        g = torch.cat([gp[r] for gp in g_pieces])
        m = beta1 * states[r]["exp_avg"] + (1.0 - beta1) * g
        v = beta2 * states[r]["exp_avg_sq"] + (1.0 - beta2) * g * g
        p = p * (1.0 - lr * weight_decay) - (lr / bc1) * m / (v.sqrt() / bc2_sqrt + eps)
        new_states.append({"exp_avg": m, "exp_avg_sq": v})
        for i, part in enumerate(torch.split(p, [pp[r].numel() for pp in p_pieces])):
            new_pieces[i][r] = part
    return [torch.cat(pieces).view(q.shape) for pieces, q in zip(new_pieces, params)], new_states
