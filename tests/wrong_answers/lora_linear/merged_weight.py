"""Merges the adapter into the weight, x (W + (alpha / r) B A)ᵀ: right values, a W-sized temporary (or two)."""


def lora_linear(x, W, A, B, alpha):
    merged = W + (alpha / A.shape[0]) * (B @ A)  # (out, in): as large as W
    return x @ merged.T
