"""Runs torch.optim.AdamW on each rank's shard instead of writing the update."""

import torch


def zero1_init(params: list[torch.Tensor], world_size: int) -> list[dict[str, torch.Tensor]]:
    total = sum(p.numel() for p in params)
    like = params[0]
    sizes = [s.numel() for s in torch.tensor_split(torch.empty(total), world_size)]
    return [{"exp_avg": torch.zeros(n, dtype=like.dtype, device=like.device),
             "exp_avg_sq": torch.zeros(n, dtype=like.dtype, device=like.device)} for n in sizes]


def zero1_step(params: list[torch.Tensor], grads: list[torch.Tensor], states: list[dict[str, torch.Tensor]],
               t: int, lr: float, beta1: float, beta2: float, eps: float,
               weight_decay: float) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    n = len(states)
    p_shards = torch.tensor_split(torch.cat([p.reshape(-1) for p in params]), n)
    g_shards = torch.tensor_split(torch.cat([g.reshape(-1) for g in grads]), n)
    updated, new_states = [], []
    for p, g, state in zip(p_shards, g_shards, states):
        p = p.clone().requires_grad_(True)
        opt = torch.optim.AdamW([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
        opt.state[p] = {"step": torch.tensor(float(t - 1)), "exp_avg": state["exp_avg"].clone(),
                        "exp_avg_sq": state["exp_avg_sq"].clone()}
        p.grad = g.clone()
        opt.step()
        updated.append(p.detach())
        new_states.append({"exp_avg": opt.state[p]["exp_avg"], "exp_avg_sq": opt.state[p]["exp_avg_sq"]})
    pieces = torch.split(torch.cat(updated), [p.numel() for p in params])
    return [piece.view(p.shape) for piece, p in zip(pieces, params)], new_states
