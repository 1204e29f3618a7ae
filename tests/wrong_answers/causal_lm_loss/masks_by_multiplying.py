"""Multiplies the per-token losses by the mask but gathers the ignored label -100 as it is: an index error."""

import torch


def causal_lm_loss(logits, labels, ignore_index=-100):
    z, y = logits[:, :-1], labels[:, 1:]
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()
    real = y != ignore_index
    m = z.amax(dim=-1, keepdim=True)
    lse = m.squeeze(-1) + torch.log(torch.exp(z - m).sum(dim=-1))
    picked = z.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    loss = ((lse - picked) * real).sum() / real.sum()
    return loss, torch.exp(loss)
