"""Uses GELU where SiLU is due (GEGLU instead of SwiGLU)."""

import torch.nn.functional as F


def swiglu(x, W1, W2, W3):
    return (F.gelu(x @ W1.T) * (x @ W3.T)) @ W2.T
