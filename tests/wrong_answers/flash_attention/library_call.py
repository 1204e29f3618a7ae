"""Calls the library's fused kernel, torch.nn.functional.scaled_dot_product_attention."""
import torch.nn.functional as F


def flash_attention(q, k, v, causal=False, block_size=64):
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
