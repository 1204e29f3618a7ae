"""Exercise: ZeRO stage 1, AdamW with its moments sharded over N simulated ranks."""

import torch


def zero1_init(params: list[torch.Tensor], world_size: int) -> list[dict[str, torch.Tensor]]:
    """The optimizer state of each of ``world_size`` ranks before the first step: zero moments.

    The P entries of all parameters, flattened and concatenated in order, are cut into N shards
    as ``torch.tensor_split`` cuts a tensor of P elements into N parts: shard r has ⌈P/N⌉ entries
    for r < P % N and ⌊P/N⌋ for the others (empty when P < N). Rank r keeps the AdamW moments of
    its shard only: 2 · size_r numbers, not 2 · P.

    Args:
        params: the model's parameters, a non-empty list of tensors of any shapes (0-d included),
            one dtype (float32 or float64) and one device. Only their sizes, dtype and device are
            used.
        world_size: N >= 1, the number of ranks.

    Returns:
        A list of N dicts; dict r is ``{"exp_avg": m_r, "exp_avg_sq": v_r}``: two 1-D zero tensors
        of size_r entries each, with the parameters' dtype and device.
    """
    raise NotImplementedError


def zero1_step(params: list[torch.Tensor], grads: list[torch.Tensor], states: list[dict[str, torch.Tensor]],
               t: int, lr: float, beta1: float, beta2: float, eps: float,
               weight_decay: float) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    """One step of AdamW with the moments sharded over N = ``len(states)`` ranks, then an all-gather.

    Rank r takes shard r (as in ``zero1_init``) of the flattened parameters and gradients, updates
    its moments and its parameter entries by the AdamW formula (θ ← θ·(1 − lr·λ),
    m' = β1·m + (1 − β1)·g, v' = β2·v + (1 − β2)·g², θ' = θ − lr·m̂/(√v̂ + ε) with
    m̂ = m'/(1 − β1^t), v̂ = v'/(1 − β2^t)); the updated shards are then gathered and cut back into
    the parameters' shapes. The result equals ``torch.optim.AdamW`` on the whole model.

    Args:
        params: the parameters, a non-empty list of tensors of any shapes (0-d included), one dtype
            (float32 or float64) and one device; possibly non-contiguous.
        grads: their gradients (already averaged over the ranks), a list of tensors shaped like
            ``params``, same dtype and device.
        states: N per-rank dicts ``{"exp_avg": m_r, "exp_avg_sq": v_r}``, 1-D tensors of shard r's
            size, as ``zero1_init`` or the previous step returned them.
        t: the number of this step, an int >= 1 (1 for the first).
        lr: the learning rate, > 0.
        beta1, beta2: in [0, 1).
        eps: ε > 0, added to √v̂.
        weight_decay: λ >= 0.

    Returns:
        ``(params, states)``: a list of new tensors shaped, typed and placed like ``params`` (the
        updated parameters), and a list of N new dicts of the same keys and sizes (the updated
        moments of each rank). Nothing passed in is modified.

    Forbidden: ``torch.optim`` (every optimiser and its functional forms) and the fused kernels
    ``_fused_adamw`` / ``_fused_adam``.
    """
    raise NotImplementedError
