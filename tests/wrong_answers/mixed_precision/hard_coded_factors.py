"""Hard-codes growth 2 and backoff 0.5 instead of reading them from the scaler state."""

import math

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


def _float32(value: float) -> float:
    """``value`` rounded to float32, the precision GradScaler keeps its scale in (inf past its range)."""
    return torch.tensor(value, dtype=torch.float64).to(torch.float32).item()


def scaler_step(params: list[torch.Tensor], grads: list[torch.Tensor], bufs: list[torch.Tensor], scaler: dict,
                lr: float, momentum: float) -> tuple[list[torch.Tensor], list[torch.Tensor], dict, bool]:
    """Unscale, check for inf/NaN, take (or skip) an SGD-with-momentum step, update the loss scale."""
    scale = scaler["scale"]
    # One flag for the whole step: a single non-finite entry in any gradient skips it.
    found_inf = any(not bool(torch.isfinite(g).all()) for g in grads)
    new_scaler = dict(scaler)
    if found_inf:
        # The step is skipped entirely: parameters and momentum buffers come back as they were.
        new_scaler["scale"] = _float32(scale * 0.5)
        new_scaler["_growth_tracker"] = 0
        return list(params), list(bufs), new_scaler, True
    inv_scale = 1.0 / scale
    new_params, new_bufs = [], []
    for p, g, buf in zip(params, grads, bufs):
        g = g * inv_scale  # the gradient of the unscaled loss
        buf = momentum * buf + g  # torch.optim.SGD: buf = g at its first step, which zeros give too
        new_params.append(p - lr * buf)
        new_bufs.append(buf)
    tracker = scaler["_growth_tracker"] + 1
    if tracker == scaler["growth_interval"]:
        grown = _float32(scale * 2.0)
        if math.isfinite(grown):  # never grow past float32's range
            new_scaler["scale"] = grown
        tracker = 0
    new_scaler["_growth_tracker"] = tracker
    return new_params, new_bufs, new_scaler, False


def train_step(master: dict[str, torch.Tensor], bufs: dict[str, torch.Tensor], scaler: dict, x: torch.Tensor,
               y: torch.Tensor, lr: float,
               momentum: float) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], dict, torch.Tensor, bool]:
    """Half-precision forward of ``mlp_loss``, scaled backward into the fp32 master weights, then scaler_step."""
    names = list(master)
    with torch.enable_grad():
        leaves = [master[n].detach().requires_grad_() for n in names]  # fp32, the master weights
        half = {n: p.to(x.dtype) for n, p in zip(names, leaves)}  # the model copy the forward runs in
        loss = mlp_loss(half, x, y)  # float32, 0-d
        # Scale the loss, not the gradients: the half-precision backward is what must not underflow.
        grads = torch.autograd.grad(loss * scaler["scale"], leaves)  # float32: cast back at the .to()
    params, new_bufs, new_scaler, found_inf = scaler_step([master[n] for n in names], list(grads),
                                                          [bufs[n] for n in names], scaler, lr, momentum)
    return dict(zip(names, params)), dict(zip(names, new_bufs)), new_scaler, loss.detach(), found_inf
