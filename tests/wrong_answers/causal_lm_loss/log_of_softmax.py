"""log(softmax(z)): stable against overflow, but the target probability underflows to 0 and its log is -inf."""

import torch


def causal_lm_loss(logits, labels, ignore_index=-100):
    z, y = logits[:, :-1], labels[:, 1:]
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()
    real = y != ignore_index
    log_p = torch.log(torch.softmax(z, dim=-1))
    picked = log_p.gather(-1, torch.where(real, y, 0).unsqueeze(-1)).squeeze(-1)
    loss = torch.where(real, -picked, 0.0).sum() / real.sum()
    return loss, torch.exp(loss)
