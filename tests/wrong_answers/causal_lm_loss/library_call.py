"""Calls torch.nn.functional.cross_entropy on the shifted, flattened tensors: forbidden."""

import torch


def causal_lm_loss(logits, labels, ignore_index=-100):
    V = logits.shape[-1]
    z = logits[:, :-1].reshape(-1, V)
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()
    loss = torch.nn.functional.cross_entropy(z, labels[:, 1:].reshape(-1), ignore_index=ignore_index)
    return loss, torch.exp(loss)
