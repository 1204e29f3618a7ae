"""Exercise: data-parallel gradient averaging by a ring all-reduce, simulated in one process."""

import torch


def ring_allreduce(tensors: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[int]]:
    """Average ``tensors`` (one per rank) by a ring all-reduce; return the results and bytes sent.

    N = len(tensors) ranks stand in a ring: rank r sends only to rank (r + 1) % N. Each rank's
    tensor is flattened and cut into N chunks by ``torch.tensor_split(flat, N)`` (the first
    numel % N chunks get one element more; chunks may be empty). Then, with every rank sending one
    chunk per step:

    - reduce-scatter, steps s = 0 … N − 2: rank r sends its chunk (r − s) % N, and the receiver adds
      it to its own copy of that chunk. Afterwards rank r holds the complete sum of chunk (r + 1) % N;
    - the complete sums are divided by N;
    - all-gather, steps s = 0 … N − 2: rank r sends its chunk (r + 1 − s) % N, and the receiver
      replaces its copy with it.

    Args:
        tensors: a list of N >= 1 tensors, one per rank: one shape (any, 0-d included), one dtype
            (float32 or float64), one device; possibly non-contiguous. Left unchanged.

    Returns:
        ``(averaged, sent)``:
        ``averaged``: a list of N new tensors with the inputs' shape, dtype and device, each equal
        to the mean of the N inputs (and all N equal to each other, bit for bit);
        ``sent``: a list of N Python ints, ``sent[r]`` the bytes rank r sent over both phases (the
        elements of every chunk it sent times the element size). N = 1: nothing is sent, [0].

    Nothing is forbidden, but the bytes must be those of the schedule above: about 2(N − 1)/N of
    one tensor per rank, never whole tensors.
    """
    raise NotImplementedError
