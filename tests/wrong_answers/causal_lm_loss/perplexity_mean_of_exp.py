"""Perplexity as the mean of the per-token exp(loss) instead of the exp of the mean loss."""

import torch


def causal_lm_loss(logits, labels, ignore_index=-100):
    z, y = logits[:, :-1], labels[:, 1:]
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()
    real = y != ignore_index
    m = z.amax(dim=-1, keepdim=True)
    lse = m.squeeze(-1) + torch.log(torch.exp(z - m).sum(dim=-1))
    picked = z.gather(-1, torch.where(real, y, 0).unsqueeze(-1)).squeeze(-1)
    token_loss = torch.where(real, lse - picked, 0.0)
    loss = token_loss.sum() / real.sum()
    return loss, torch.where(real, torch.exp(token_loss), 0.0).sum() / real.sum()
