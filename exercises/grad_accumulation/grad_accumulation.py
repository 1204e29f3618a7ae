"""Exercise: SGD steps over micro-batches whose accumulated gradient equals the full-batch gradient."""

import torch

# Your answer to causal_lm_loss is importable here: every <id>/ folder of your submission is on the
# import path when this file runs, in the grader as in your own checkout (run from the folder that
# holds causal_lm_loss/, or add it to sys.path yourself):
#
#     from causal_lm_loss import causal_lm_loss


def lm_logits(params: dict[str, torch.Tensor], input_ids: torch.Tensor) -> torch.Tensor:
    """The tiny language model: logits (b, t, V) = tanh(embed[input_ids]) @ unembed.T + bias.

    Given; do not change it (the checks' oracle uses the same formula). ``params`` holds
    "embed" (V, d), "unembed" (V, d) and "bias" (V,); ``input_ids`` is (b, t) int64 in [0, V).
    """
    h = torch.tanh(params["embed"][input_ids])  # (b, t, d)
    return h @ params["unembed"].T + params["bias"]  # (b, t, V)


def train_with_accumulation(params: dict[str, torch.Tensor], batches: list[list[dict[str, torch.Tensor]]],
                            lr: float, ignore_index: int = -100) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Plain SGD on ``lm_logits``, one step per batch, each batch's gradient accumulated over its micro-batches.

    A batch is too large for one forward and backward pass, so it comes split into micro-batches.
    For each batch, in order:

        n_i = number of real targets of micro-batch i: entries of labels_i[:, 1:] != ignore_index
        N   = sum_i n_i                                       (real targets of the whole batch)
        for each micro-batch i with n_i > 0:
            mean_i = causal_lm_loss(lm_logits(params, input_ids_i), labels_i, ignore_index)[0]
            accumulate the gradient of (n_i / N) * mean_i into each parameter's gradient
        loss = sum_i (n_i / N) * mean_i                       (recorded before the update)
        P    = P - lr * (accumulated gradient of P)           (for "embed", "unembed" and "bias")

    The weights n_i / N make the accumulated gradient equal the gradient of the full-batch loss,
    the mean over all N real targets of the batch, whatever the micro-batches' sizes and padding.
    Run one forward and backward pass per micro-batch (never the whole batch at once: a memory
    check measures it), and start every batch's accumulation from zero.

    Args:
        params: the starting parameters, "embed" (V, d), "unembed" (V, d) and "bias" (V,), one
            floating dtype (float32 or float64) and one device.
        batches: a list of S >= 1 batches, one per SGD step; each a list of k >= 1 micro-batches;
            each micro-batch a dict with "input_ids" and "labels", both (b_i, t_i) int64 on the
            params' device. b_i and t_i vary from one micro-batch to the next. "labels" holds the
            token ids to predict, with ``ignore_index`` at padding and at other positions not to
            learn; "input_ids" holds valid ids in [0, V) everywhere (a pad id at padding).
            A micro-batch may have no real target at all (n_i = 0); every batch has N >= 1.
        lr: the learning rate, a float > 0.
        ignore_index: the label value of an ignored position, as in causal_lm_loss (default -100;
            it may be a pad id in [0, V)).

    Returns:
        ``(losses, params)``:
        - losses: a 1-d tensor of shape (S,) with the params' dtype and device; losses[s] is the
          full-batch loss of batch s at the parameters *before* its update.
        - params: a dict with exactly the keys "embed", "unembed", "bias": the parameters after
          the last step, new tensors with the starting shapes, dtype and device, not requiring grad.
        The input tensors are left unchanged.

    Forbidden: ``torch.nn.functional.cross_entropy`` and the rest of causal_lm_loss's forbidden
    list, here as there (the loss is your causal_lm_loss). Autograd is allowed and expected:
    ``.backward()`` or ``torch.autograd.grad`` on tensors of your own that require grad.
    """
    raise NotImplementedError
