"""Exercise: train the two-layer MLP with your own backward pass and Adam step."""

import torch

# Your answers to earlier exercises are importable here: every <id>/ folder of your submission is on
# the import path when this file runs, in the grader as in your own checkout (run from the folder
# that holds mlp_backward/ and adam/, or add them to sys.path yourself). For example:
#
#     from mlp_backward import mlp_backward
#     from adam import adam_step


def train_mlp(x: torch.Tensor, y: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
              b2: torch.Tensor, steps: int, lr: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Train the network p = σ(σ(x @ W1 + b1) @ W2 + b2) on (x, y) by full-batch Adam.

    For t = 1, 2, ..., steps:

        loss_t, grads = mlp_backward(x, y, W1, b1, W2, b2)       # your answer to mlp_backward
        for each parameter P in (W1, b1, W2, b2), with its own moments m_P, v_P (zeros at first):
            P, m_P, v_P = adam_step(P, grads[name of P], m_P, v_P, t, lr)   # your answer to adam

    Adam uses its default betas (0.9, 0.999) and eps (1e-8), the given ``lr`` and no weight decay;
    the step counter t starts at 1 and is shared by the four parameters. The result equals
    ``steps`` calls of ``torch.optim.Adam([W1, b1, W2, b2], lr=lr).step()`` on the BCE loss.

    Args:
        x: inputs, shape (batch, d_in).
        y: labels, shape (batch, d_out), entries in [0, 1].
        W1: (d_in, d_hidden), b1: (d_hidden,), W2: (d_hidden, d_out), b2: (d_out,): the starting
            parameters. All six tensors share one dtype (float32 or float64) and one device.
        steps: the number of Adam steps, an int >= 1.
        lr: the learning rate, a float > 0.

    Returns:
        ``(losses, params)``:
        - losses: a 1-d tensor of shape (steps,) with the inputs' dtype and device; losses[t − 1]
          is the loss *before* step t (the first entry is the loss of the starting parameters).
          Build it with ``torch.stack`` from the 0-d losses mlp_backward returns.
        - params: a dict with exactly the keys "W1", "b1", "W2", "b2": the parameters after the
          last step, new tensors with the starting shapes, dtype and device.
        The input tensors are left unchanged.

    Forbidden: ``torch.optim`` and autograd (``.backward()``, ``torch.autograd``, ``requires_grad``):
    the gradients come from mlp_backward and the updates from adam_step.
    """
    raise NotImplementedError
