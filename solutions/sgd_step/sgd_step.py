"""Reference solution: one step of torch.optim.SGD (dampening 0) as a pure function."""

import torch


def sgd_step(param: torch.Tensor, grad: torch.Tensor, buf: torch.Tensor | None, lr: float,
             momentum: float = 0.0, weight_decay: float = 0.0,
             nesterov: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Return (param − lr·g, buf) with g the weight-decayed, momentum-averaged gradient."""
    g = grad
    if weight_decay != 0:
        g = g + weight_decay * param
    new_buf = None
    if momentum != 0:
        # torch's convention: the first step starts the buffer at the gradient itself.
        new_buf = g.clone() if buf is None else momentum * buf + g
        g = g + momentum * new_buf if nesterov else new_buf
    return param - lr * g, new_buf
