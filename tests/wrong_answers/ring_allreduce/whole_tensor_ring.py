"""Passes whole tensors around the ring: right averages, but every rank sends (N - 1) whole tensors."""

import torch


def ring_allreduce(tensors: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[int]]:
    n = len(tensors)
    totals = [t.clone() for t in tensors]  # each rank's running sum
    passing = [t.clone() for t in tensors]  # what each rank forwards next
    sent = [0] * n
    for _ in range(n - 1):
        received = [passing[(r - 1) % n] for r in range(n)]  # every rank sends to its right neighbour
        for r in range(n):
            sent[(r - 1) % n] += received[r].numel() * received[r].element_size()
            totals[r] = totals[r] + received[r]
        passing = received
    return [t / n for t in totals], sent
