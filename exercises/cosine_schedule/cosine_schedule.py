"""Exercise: the cosine learning-rate schedule with linear warm-up."""


def cosine_schedule(t: int, lr_max: float, lr_min: float, warmup_steps: int, cosine_steps: int) -> float:
    """The learning rate to use at step ``t``.

    Three phases, with T_w = ``warmup_steps`` and T_c = ``cosine_steps``::

        t < T_w:          lr = t / T_w · lr_max                                    (linear warm-up)
        T_w <= t <= T_c:  lr = lr_min + ½ (1 + cos(π (t − T_w) / (T_c − T_w))) (lr_max − lr_min)
        t > T_c:          lr = lr_min                                               (annealed)

    Edge cases: t = 0 gives 0 (when T_w > 0); t = T_w gives exactly lr_max (the cosine starts at its
    top); t = T_c gives lr_min; T_w = 0 means no warm-up at all, so t = 0 already gives lr_max.

    Args:
        t: the current step, an int >= 0 (steps count from 0).
        lr_max: the peak learning rate, reached at the end of the warm-up (a float >= lr_min).
        lr_min: the final learning rate (a float >= 0).
        warmup_steps: T_w, an int >= 0: the number of warm-up steps.
        cosine_steps: T_c, an int > T_w: the step at which the cosine decay ends. Counted from
            step 0, not from the end of the warm-up.

    Returns:
        The learning rate as a Python ``float`` (not a tensor, not a numpy number).

    Forbidden: ``torch.optim`` and ``torch.optim.lr_scheduler`` (the library schedules).
    """
    raise NotImplementedError
