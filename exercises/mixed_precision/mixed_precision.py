"""Exercise: a mixed-precision training step with fp32 master weights and dynamic loss scaling."""

import torch


def mlp_loss(weights: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Provided, do not change: the tiny model's forward pass and loss, as the checks compute them.

    Args:
        weights: "W1" (d_hidden, d_in), "b1" (d_hidden,), "W2" (d_out, d_hidden), "b2" (d_out,), all
            in the dtype the forward should run in (float16 or bfloat16 here), on x's device.
        x: inputs (batch, d_in), in the weights' dtype.
        y: targets (batch, d_out), float32.

    Returns:
        The mean squared error, a 0-d float32 tensor: the two layers run in the weights' dtype and
        the loss is computed in float32 from the half-precision outputs (as torch.autocast does).
    """
    h = torch.relu(x @ weights["W1"].T + weights["b1"])  # (batch, d_hidden), half precision
    out = h @ weights["W2"].T + weights["b2"]  # (batch, d_out), half precision
    return torch.nn.functional.mse_loss(out.float(), y)


def scaler_step(params: list[torch.Tensor], grads: list[torch.Tensor], bufs: list[torch.Tensor], scaler: dict,
                lr: float, momentum: float) -> tuple[list[torch.Tensor], list[torch.Tensor], dict, bool]:
    """One optimiser step behind a dynamic loss scaler, as ``GradScaler.step`` + ``update`` take it.

    ``grads`` are the gradients of the *scaled* loss S·L. With S = ``scaler["scale"]``::

        found_inf = some entry of some gradient is inf, -inf or NaN
        if found_inf:                                   the step is skipped entirely
            params, bufs unchanged
            S ← S · backoff_factor,  tracker ← 0
        else:
            for each parameter p with gradient g and momentum buffer buf:
                ĝ   = g / S                              unscale
                buf ← momentum · buf + ĝ                 SGD with momentum (torch.optim.SGD)
                p   ← p − lr · buf
            tracker ← tracker + 1
            if tracker == growth_interval:
                S ← S · growth_factor  (unless that overflows float32),  tracker ← 0

    The scale is a float32 number, as GradScaler keeps it: round S · factor to float32, and do not
    apply a growth whose result would be inf in float32 (the tracker is reset all the same).

    Args:
        params: the fp32 master weights, a list of tensors of any shapes (0-d included), float32,
            on one device, possibly non-contiguous.
        grads: the gradient of the scaled loss for each parameter, same shapes, dtype and device as
            ``params``; entries may be inf or NaN (an overflow in the half-precision backward).
        bufs: the momentum buffer of each parameter, same shapes; zeros before the first step taken
            (torch.optim.SGD's first step sets buf = ĝ, which a zero buffer gives too).
        scaler: the scaler's state as numbers, the dict ``GradScaler.state_dict()`` returns:
            ``{"scale": float, "growth_factor": float, "backoff_factor": float,
            "growth_interval": int, "_growth_tracker": int}`` (the tracker counts the good steps
            since the scale last changed).
        lr: the learning rate, a float > 0.
        momentum: the momentum factor, a float in [0, 1); 0 gives plain SGD (buf is then ĝ).

    Returns:
        ``(params, bufs, scaler, found_inf)``: new lists of the updated parameters and buffers (the
        given values when the step is skipped; float32, the inputs' shapes and device), a new dict
        with the same five keys (``scale`` a float, ``_growth_tracker`` an int, the three settings
        unchanged), and ``found_inf``, a bool: True when the step was skipped. The inputs are not
        modified.

    Forbidden: ``torch.amp.GradScaler`` (and ``torch.cuda.amp.GradScaler``), its ATen kernels
    ``_amp_foreach_non_finite_check_and_unscale_`` and ``_amp_update_scale_``, and ``torch.optim``.
    """
    raise NotImplementedError


def train_step(master: dict[str, torch.Tensor], bufs: dict[str, torch.Tensor], scaler: dict, x: torch.Tensor,
               y: torch.Tensor, lr: float,
               momentum: float) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict, torch.Tensor, bool]:
    """One mixed-precision training step of the tiny model of ``mlp_loss``.

    1. Cast the fp32 master weights to x's dtype (float16 or bfloat16): the forward runs there.
    2. L = ``mlp_loss(half weights, x, y)``, a float32 0-d tensor.
    3. Back-propagate the scaled loss S·L (S = ``scaler["scale"]``) through the half-precision
       model into float32 gradients of the master weights (autograd is allowed).
    4. ``scaler_step`` with those gradients: unscale, skip on inf/NaN, SGD step, scale update.

    The result equals one step of ``torch.amp.GradScaler`` driving ``torch.optim.SGD(master,
    lr=lr, momentum=momentum)`` on the loss of the half-precision forward.

    Args:
        master: the fp32 master weights, a dict {"W1": (d_hidden, d_in), "b1": (d_hidden,),
            "W2": (d_out, d_hidden), "b2": (d_out,)}, float32 tensors on x's device.
        bufs: the momentum buffer of each weight, a dict with the same keys and shapes (zeros
            before the first step taken).
        scaler: the scaler's state, as for ``scaler_step``.
        x: the batch's inputs (batch, d_in), float16 or bfloat16: the dtype the forward runs in.
        y: the targets (batch, d_out), float32.
        lr: the learning rate, a float > 0.
        momentum: the momentum factor, a float in [0, 1).

    Returns:
        ``(master, bufs, scaler, loss, found_inf)``: the new master weights (a dict with the same
        keys, float32 always), the new buffers, the new scaler state (as ``scaler_step``), the loss
        L of this step's forward (unscaled, a 0-d float32 tensor, inf or NaN if the forward
        overflowed) and ``found_inf`` (True when the step was skipped). The inputs are not modified.

    Forbidden: as for ``scaler_step``.
    """
    raise NotImplementedError
