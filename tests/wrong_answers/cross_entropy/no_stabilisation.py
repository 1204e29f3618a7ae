"""log(sum(exp(z))) without taking the maximum out: exp overflows to inf for large logits."""
import torch


def cross_entropy(logits, targets):
    lse = torch.log(torch.exp(logits).sum(dim=1))
    return (lse - logits.gather(1, targets[:, None]).squeeze(1)).mean()
