"""Attention with torch.matmul, scaling by d ** -0.5, and empty rows zeroed after the softmax."""
import torch


def attention(q, k, v, mask=None):
    s = torch.matmul(q, k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    if mask is None:
        return torch.matmul(s.softmax(dim=-1), v)
    s = torch.where(mask, s, torch.tensor(float("-inf"), dtype=s.dtype, device=s.device))
    has_key = mask.any(dim=-1, keepdim=True)
    p = torch.where(has_key, s.softmax(dim=-1), torch.tensor(0.0, dtype=s.dtype, device=s.device))
    return torch.matmul(p, v)
