"""Upcasts every dtype to float32, float64 included: float64 logits lose their precision and dtype."""

import torch


def causal_lm_loss(logits, labels, ignore_index=-100):
    z, y = logits[:, :-1].float(), labels[:, 1:]
    real = y != ignore_index
    m = z.amax(dim=-1, keepdim=True)
    lse = m.squeeze(-1) + torch.log(torch.exp(z - m).sum(dim=-1))
    picked = z.gather(-1, torch.where(real, y, 0).unsqueeze(-1)).squeeze(-1)
    loss = torch.where(real, lse - picked, 0.0).sum() / real.sum()
    return loss, torch.exp(loss)
