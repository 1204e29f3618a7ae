"""Exercise: one step of the AdamW optimiser."""

import torch


def adamw_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int,
               lr: float, beta1: float, beta2: float, eps: float,
               weight_decay: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One AdamW update, equal to one ``step()`` of ``torch.optim.AdamW`` on this parameter.

    With g = ``grad``, λ = ``weight_decay`` and t the number of this step (1 for the first)::

        θ  ← θ · (1 − lr·λ)                       decoupled weight decay, before the Adam update
        m' = β1 · m + (1 − β1) · g                first moment
        v' = β2 · v + (1 − β2) · g²               second moment
        m̂  = m' / (1 − β1^t)                      bias corrections
        v̂  = v' / (1 − β2^t)
        θ' = θ − lr · m̂ / (√v̂ + ε)                ε outside the square root

    The decay multiplies the parameter; it is not added to the gradient (that would be Adam with
    L2 regularisation, whose decay gets divided by √v̂ too). Before the first step m = v = 0 and
    the first call has t = 1.

    Args:
        param: θ, the parameter, any shape (0-d included), float32 or float64, any device,
            possibly non-contiguous.
        grad: g, the gradient of the loss for ``param``, same shape, dtype and device.
        m: the first-moment estimate from the previous step (zeros before the first), same shape.
        v: the second-moment estimate from the previous step (zeros before the first), same shape,
            every entry >= 0.
        t: the number of this step, an int >= 1; the bias corrections use β^t with this t.
        lr: the learning rate, a float > 0.
        beta1: β1 in [0, 1), e.g. 0.9.
        beta2: β2 in [0, 1), e.g. 0.999.
        eps: ε > 0, e.g. 1e-8, added to √v̂.
        weight_decay: λ >= 0, e.g. 0.01 (0 gives plain Adam).

    Returns:
        ``(param, m, v)``: the updated θ', m' and v', new tensors with the inputs' shape, dtype and
        device. None of the inputs is modified: the caller feeds the results back in at the next
        step.

    Forbidden: ``torch.optim`` (every optimiser, including AdamW and Adam, and their functional
    forms) and the fused ATen kernels ``_fused_adamw`` / ``_fused_adam``.
    """
    raise NotImplementedError
