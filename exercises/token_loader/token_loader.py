"""Exercise: a token stream on disk (nanoGPT's train.bin) and random training windows read from it."""

import numpy as np
import torch


def write_tokens(tokens: torch.Tensor, path: str) -> int:
    """Write ``tokens`` to ``path`` as raw uint16, one token after another; return the bytes written.

    The file is nanoGPT's ``train.bin``: 2 bytes per token (numpy's ``uint16``, little-endian), in
    the order of ``tokens``, and nothing else (no header, no shape).

    Args:
        tokens: a 1-D tensor of N token ids, any integer dtype (int64, int32...), any device,
            possibly non-contiguous (a strided view); every value in [0, 65535]. N may be 0.
        path: the file to write, relative to the working folder; an existing file is replaced.

    Returns:
        The number of bytes written, a Python int: 2 * N. ``tokens`` is left unchanged.
    """
    raise NotImplementedError


def get_batch(path: str, batch_size: int, context_length: int, seed: int,
              device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``context_length`` tokens and their next-token targets.

    With N the number of tokens in the file, B = ``batch_size`` and T = ``context_length``, the B
    start offsets are exactly::

        i = torch.randint(0, N - T, (B,), generator=torch.Generator().manual_seed(seed))

    (uniform in [0, N - T - 1]: the last one leaves room for the target of the last position), and
    ``x[b] = tokens[i[b] : i[b] + T]``, ``y[b] = tokens[i[b] + 1 : i[b] + T + 1]``.

    Args:
        path: a file written by ``write_tokens``: N uint16 tokens, N >= T + 1. It may be far
            larger than memory: read it with ``np.memmap`` (mode "r"), opened afresh on each call,
            and copy out only the windows.
        batch_size: B >= 1.
        context_length: T >= 1.
        seed: the seed of the generator that draws the offsets (any int >= 0).
        device: where the results go, "cpu" or "cuda".

    Returns:
        ``(x, y)``: two new (B, T) int64 tensors on ``device``; y is x shifted by one token.
        Token ids above 32767 come back as they are (uint16, not int16).
    """
    raise NotImplementedError
