"""Reference answer: data-parallel gradient averaging by a ring all-reduce, simulated in one process."""

import torch


def ring_allreduce(tensors: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[int]]:
    """Average ``tensors`` (one per rank) by a ring all-reduce; return the results and bytes sent.

    Args:
        tensors: N >= 1 tensors, one per rank, all of one shape (any, 0-d included), one dtype
            (float32 or float64) and one device; possibly non-contiguous.

    Returns:
        ``(averaged, sent)``: ``averaged`` a list of N new tensors shaped, typed and placed like the
        inputs, every one equal to the mean of the inputs (bit for bit the same on every rank);
        ``sent`` a list of N Python ints, the bytes each rank sent to its right neighbour.
    """
    n = len(tensors)
    shape = tensors[0].shape
    # Each rank's own buffer: a flat copy (reshape copes with non-contiguous inputs; clone keeps
    # the caller's tensors out of the in-place updates below), cut into n chunks that are views of
    # it: torch.tensor_split gives the first numel % n chunks one element more.
    buffers = [t.reshape(-1).clone() for t in tensors]
    chunks = [torch.tensor_split(b, n) for b in buffers]  # chunks[rank][c]
    sent = [0] * n

    # Reduce-scatter: at step s every rank r sends its chunk (r - s) % n to rank (r + 1) % n, which
    # adds it to its own copy. The chunk a rank receives is never the one it sends in the same step,
    # so updating the ranks one after another equals simultaneous sends. After n - 1 steps rank r
    # holds the sum over all ranks of chunk (r + 1) % n.
    for s in range(n - 1):
        for r in range(n):
            c = (r - s) % n
            chunks[(r + 1) % n][c].add_(chunks[r][c])
            sent[r] += chunks[r][c].numel() * chunks[r][c].element_size()

    # Each complete sum is divided once by n on the rank that owns it, then copied around.
    for r in range(n):
        chunks[r][(r + 1) % n].div_(n)

    # All-gather: at step s rank r sends chunk (r + 1 - s) % n, which it already holds complete, and
    # rank (r + 1) % n overwrites its copy with it.
    for s in range(n - 1):
        for r in range(n):
            c = (r + 1 - s) % n
            chunks[(r + 1) % n][c].copy_(chunks[r][c])
            sent[r] += chunks[r][c].numel() * chunks[r][c].element_size()

    return [b.view(shape) for b in buffers], sent
