"""Reference solution: one AdamW step with decoupled weight decay."""

import math

import torch


def adamw_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int,
               lr: float, beta1: float, beta2: float, eps: float,
               weight_decay: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Decay θ by (1 − lr·λ), update both moments, take the bias-corrected Adam step."""
    param = param * (1.0 - lr * weight_decay)  # decoupled: the decay never passes through √v̂
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * grad * grad
    step_size = lr / (1.0 - beta1 ** t)
    # ε is added to √v̂ = √v' / √(1 − β2^t), after the correction, as torch.optim.AdamW does.
    denom = v.sqrt() / math.sqrt(1.0 - beta2 ** t) + eps
    return param - step_size * m / denom, m, v
