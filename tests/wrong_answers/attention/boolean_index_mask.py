"""scores[~mask] = -inf: boolean indexing needs the mask's full shape and does not broadcast."""
import math

import torch


def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores[~mask] = float("-inf")
        w = torch.where(mask.any(-1, keepdim=True), torch.softmax(scores, dim=-1), 0.0)
        return w @ v
    return torch.softmax(scores, dim=-1) @ v
