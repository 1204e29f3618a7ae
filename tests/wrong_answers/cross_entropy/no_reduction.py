"""Returns the (N,) per-row losses instead of their mean."""
import torch


def cross_entropy(logits, targets):
    m = logits.amax(dim=1, keepdim=True)
    lse = m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))
    return lse - logits.gather(1, targets[:, None]).squeeze(1)
