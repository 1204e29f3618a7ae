"""Reference answer: a nanoGPT-style token stream on disk and random training windows read from it."""

import numpy as np
import torch


def write_tokens(tokens: torch.Tensor, path: str) -> int:
    """Write ``tokens`` to ``path`` as raw uint16, one token after another; return the bytes written.

    Args:
        tokens: a 1-D tensor of token ids, any integer dtype (int64, int32...), any device, possibly
            non-contiguous; every value in [0, 65535]. It may be empty.
        path: the file to write, relative to the working folder; an existing file is replaced.

    Returns:
        The number of bytes written, an int: 2 per token (the file holds nothing else, no header).
        ``tokens`` is left unchanged.
    """
    # .cpu() first: numpy cannot see device memory; astype copies into a contiguous uint16 array
    # whatever the strides of the view, so the file holds the tokens in order.
    data = tokens.detach().cpu().numpy().astype(np.uint16)
    data.tofile(path)  # raw little-endian (on every machine the course runs on) uint16, no header
    return int(data.nbytes)


def get_batch(path: str, batch_size: int, context_length: int, seed: int,
              device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``context_length`` tokens and their next-token targets.

    Args:
        path: a file written by ``write_tokens``: N uint16 tokens, N >= context_length + 1.
        batch_size: B >= 1, the number of windows.
        context_length: T >= 1, the length of each window.
        seed: the seed of the draw of the B start offsets.
        device: where the results go ("cpu" or "cuda").

    Returns:
        ``(x, y)``, both (B, T) int64 on ``device``: with the offsets
        ``i = torch.randint(0, N - T, (B,), generator=torch.Generator().manual_seed(seed))``,
        ``x[b] = tokens[i[b] : i[b] + T]`` and ``y[b] = tokens[i[b] + 1 : i[b] + T + 1]``.
    """
    # A fresh read-only map on every call: the file is paged in on demand (only the windows are
    # read, whatever its size), and a file written again since the last call is seen as it is now.
    data = np.memmap(path, dtype=np.uint16, mode="r")
    n, t = data.shape[0], context_length
    gen = torch.Generator().manual_seed(seed)
    offsets = torch.randint(0, n - t, (batch_size,), generator=gen).tolist()  # each in [0, N - T - 1]
    # One (T + 1)-token window per row gives both x and its shifted target; uint16 -> int64 before
    # torch sees it (values above 32767 stay positive).
    rows = np.stack([data[i:i + t + 1] for i in offsets]).astype(np.int64)  # (B, T + 1)
    windows = torch.from_numpy(rows).to(device)
    return windows[:, :-1].contiguous(), windows[:, 1:].contiguous()
