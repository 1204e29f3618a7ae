"""Exercise: Xavier (Glorot) uniform initialisation of a weight matrix."""

import torch


def xavier_init(fan_in: int, fan_out: int, generator: torch.Generator | int) -> torch.Tensor:
    """A (fan_in, fan_out) weight matrix drawn from the Glorot uniform distribution U(−a, a).

    With a = sqrt(6 / (fan_in + fan_out)) every entry has mean 0 and variance a² / 3 =
    2 / (fan_in + fan_out), which keeps the scale of activations (forward) and of gradients
    (backward) roughly constant from layer to layer. Use it as ``h = x @ W`` with x of shape
    (batch, fan_in).

    Args:
        fan_in: number of inputs of the layer, an int >= 1 (rows of the result).
        fan_out: number of outputs of the layer, an int >= 1 (columns of the result).
        generator: the source of randomness. Either a CPU ``torch.Generator``, used as it is, or an
            int seed, in which case build one: ``g = torch.Generator(); g.manual_seed(generator)``.
            The grader always passes an int: a Generator cannot be sent into the sandbox, only plain
            data can. Draw every random number from this generator (``generator=g``), never from
            the global one, so that the same seed always gives the same matrix.

    Returns:
        A new float32 tensor of shape (fan_in, fan_out) on the CPU (the generator's device; move it
        with ``.to(device)``), every entry in [−a, a].

    Forbidden: ``torch.nn.init.xavier_uniform_`` and ``torch.nn.init.xavier_normal_`` (and their
    old names without the underscore).
    """
    raise NotImplementedError
