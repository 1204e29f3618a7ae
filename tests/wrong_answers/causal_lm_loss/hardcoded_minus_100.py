"""Hard-codes -100 as the ignored label and never reads ignore_index: a pad id as the ignore index is scored."""

import torch


def causal_lm_loss(logits, labels, ignore_index=-100):
    z, y = logits[:, :-1], labels[:, 1:]
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()
    real = y != -100
    m = z.amax(dim=-1, keepdim=True)
    lse = m.squeeze(-1) + torch.log(torch.exp(z - m).sum(dim=-1))
    picked = z.gather(-1, torch.where(real, y, 0).clamp(min=0).unsqueeze(-1)).squeeze(-1)
    loss = torch.where(real, lse - picked, 0.0).sum() / real.sum()
    return loss, torch.exp(loss)
