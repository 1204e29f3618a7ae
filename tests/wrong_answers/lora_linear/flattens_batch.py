"""Flattens x to (N, in) for the matmuls and returns the flat (N, out) result."""


def lora_linear(x, W, A, B, alpha):
    flat = x.reshape(-1, x.shape[-1])
    return flat @ W.T + (alpha / A.shape[0]) * ((flat @ A.T) @ B.T)
