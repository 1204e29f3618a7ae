"""Exercise: one step of stochastic gradient descent with momentum, as torch.optim.SGD takes it."""

import torch


def sgd_step(param: torch.Tensor, grad: torch.Tensor, buf: torch.Tensor | None, lr: float,
             momentum: float = 0.0, weight_decay: float = 0.0,
             nesterov: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One update of ``param``, equal to ``torch.optim.SGD(..., dampening=0).step()``.

    With g = grad::

        g ← g + weight_decay · param                      (only if weight_decay != 0)
        if momentum != 0:
            buf ← g (a copy)              if buf is None  (the first step)
            buf ← momentum · buf + g      otherwise
            g ← g + momentum · buf        if nesterov
            g ← buf                       otherwise
        param ← param − lr · g

    Args:
        param: the parameter, any shape, float32 or float64, on any device, possibly non-contiguous.
        grad: the gradient of the loss with respect to ``param``: same shape, dtype and device.
        buf: the momentum buffer returned by the previous step (same shape, dtype and device), or
            ``None`` before the first step with momentum.
        lr: learning rate, a float > 0.
        momentum: momentum factor, a float >= 0; 0 means plain SGD.
        weight_decay: L2 penalty factor, a float >= 0, added to the gradient (not decoupled).
        nesterov: Nesterov momentum; only used with momentum > 0 (torch refuses it otherwise, and
            the grader never asks).

    Returns:
        ``(new_param, new_buf)``: new tensors with ``param``'s shape, dtype and device. ``new_buf``
        is the buffer to pass to the next step, equal to torch's ``state["momentum_buffer"]``; with
        ``momentum == 0`` it is ``None`` (plain SGD keeps no state). ``param``, ``grad`` and ``buf``
        are left unchanged: this is a pure function, unlike an optimizer's in-place ``step``.

    Forbidden: everything in ``torch.optim`` (``torch.optim.SGD``, the functional ``sgd``).
    """
    raise NotImplementedError
