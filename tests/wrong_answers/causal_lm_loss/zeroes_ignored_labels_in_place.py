"""Writes 0 over the ignored labels of the caller's own tensor (labels[~real] = 0) to make them gatherable."""

import torch


def causal_lm_loss(logits, labels, ignore_index=-100):
    z, y = logits[:, :-1], labels[:, 1:]
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()
    real = y != ignore_index
    y[~real] = 0  # y is a view of labels: this changes the caller's tensor
    m = z.amax(dim=-1, keepdim=True)
    lse = m.squeeze(-1) + torch.log(torch.exp(z - m).sum(dim=-1))
    picked = z.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    loss = torch.where(real, lse - picked, 0.0).sum() / real.sum()
    return loss, torch.exp(loss)
