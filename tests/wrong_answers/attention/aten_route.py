"""Reaches the forbidden kernel through torch.ops.aten."""
import torch


def attention(q, k, v, mask=None):
    return torch.ops.aten.scaled_dot_product_attention.default(q, k, v, mask)
