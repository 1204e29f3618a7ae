"""Unstable log-sum-exp: log(sum(exp(z))) without taking the maximum out, inf for large logits."""

import torch


def causal_lm_loss(logits, labels, ignore_index=-100):
    z, y = logits[:, :-1], labels[:, 1:]
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()
    real = y != ignore_index
    lse = torch.log(torch.exp(z).sum(dim=-1))
    picked = z.gather(-1, torch.where(real, y, 0).unsqueeze(-1)).squeeze(-1)
    loss = torch.where(real, lse - picked, 0.0).sum() / real.sum()
    return loss, torch.exp(loss)
