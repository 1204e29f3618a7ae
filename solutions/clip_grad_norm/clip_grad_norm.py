"""Reference solution: gradient clipping by global 2-norm."""

import torch


def clip_grad_norm(grads: list[torch.Tensor], max_norm: float,
                   eps: float = 1e-6) -> tuple[list[torch.Tensor], torch.Tensor]:
    """One global norm over every gradient; scale all of them by min(max_norm / (norm + eps), 1)."""
    # The global norm is the norm of the per-tensor norms: sqrt(Σ ‖g_i‖²).
    norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])  # (len(grads),)
    total = torch.linalg.vector_norm(norms)  # 0-d, the grads' dtype and device
    # A tensor clamp, not `if coef < 1`: no host sync on CUDA, and the ≤ 1 case still copies.
    coef = torch.clamp(max_norm / (total + eps), max=1.0)
    return [g * coef for g in grads], total
