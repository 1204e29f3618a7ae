"""Divides by max(N, 1): a batch with no real target returns loss 0 and perplexity 1 instead of NaN."""

import torch


def causal_lm_loss(logits, labels, ignore_index=-100):
    z, y = logits[:, :-1], labels[:, 1:]
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()
    real = y != ignore_index
    m = z.amax(dim=-1, keepdim=True)
    lse = m.squeeze(-1) + torch.log(torch.exp(z - m).sum(dim=-1))
    picked = z.gather(-1, torch.where(real, y, 0).unsqueeze(-1)).squeeze(-1)
    loss = torch.where(real, lse - picked, 0.0).sum() / real.sum().clamp(min=1)
    return loss, torch.exp(loss)
