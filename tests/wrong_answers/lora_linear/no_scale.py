"""Adds the low-rank update without its alpha / r scale."""


def lora_linear(x, W, A, B, alpha):
    return x @ W.T + (x @ A.T) @ B.T
