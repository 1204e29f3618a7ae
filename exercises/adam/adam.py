"""Exercise: one step of the Adam optimiser."""

import torch


def adam_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int,
              lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
              eps: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One Adam update, exactly as torch.optim.Adam with its default flags computes it.

        m_new = beta1 · m + (1 − beta1) · grad
        v_new = beta2 · v + (1 − beta2) · grad²
        param_new = param − lr / (1 − beta1^t) · m_new / ( sqrt(v_new) / sqrt(1 − beta2^t) + eps )

    i.e. param − lr · m̂ / (sqrt(v̂) + eps) with the bias-corrected moments m̂ = m_new / (1 − beta1^t)
    and v̂ = v_new / (1 − beta2^t): eps is added after the square root and after the correction.

    Args:
        param: the parameter, any shape (0-d included), float32 or float64, any device.
        grad: its gradient, same shape, dtype and device.
        m: first-moment estimate before this step (zeros before step 1), same shape, dtype, device.
        v: second-moment estimate before this step (zeros before step 1), same shape, dtype, device.
        t: the number of this step, counting from 1 (t = 1 on the first call); may be large.
        lr, beta1, beta2, eps: the hyperparameters, Python floats, with torch.optim.Adam's defaults.
        Any tensor may be non-contiguous.

    Returns:
        ``(param_new, m_new, v_new)``: three new tensors with the inputs' shape, dtype and device.
        The caller passes m_new and v_new back in at step t + 1. ``param``, ``grad``, ``m`` and
        ``v`` themselves are left unchanged (no in-place updates).

    Forbidden: everything in ``torch.optim`` (``torch.optim.Adam``, the functional
    ``torch.optim.adam.adam``, ...) and the fused ``torch._fused_adam_`` kernels.
    """
    raise NotImplementedError
