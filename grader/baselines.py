"""Timing baselines: library-speed versions of exercises that torch has no single op for.

A ``[[timing]]`` table names its baseline by dotted path (``grader.baselines.normalize``); the
timing check calls it in the worker with the same arguments as the student's function and budgets
the student's time as a ratio of the baseline's. Each baseline is the plain vectorised formula
written with torch ops: what an honest answer should cost, not a clever optimum.
"""

from __future__ import annotations

import torch


def normalize(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Min-max scaling of each column of ``x`` (n, d) to [0, 1]; constant columns map to 0."""
    col_min, col_max = x.amin(dim=0), x.amax(dim=0)  # (d,)
    span = col_max - col_min
    span = torch.where(span > 0, span, torch.ones_like(span))  # a constant column gives 0 / 1 = 0
    return (x - col_min) / span, col_min, col_max


def sgd_step(param: torch.Tensor, grad: torch.Tensor, buf: torch.Tensor | None, lr: float,
             momentum: float = 0.0, weight_decay: float = 0.0,
             nesterov: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One step of torch.optim.SGD (dampening 0) written with torch ops, as the exercise asks."""
    if weight_decay != 0:
        grad = grad + weight_decay * param
    if momentum != 0:
        buf = grad.clone() if buf is None else momentum * buf + grad
        grad = grad + momentum * buf if nesterov else buf
    return param - lr * grad, buf
