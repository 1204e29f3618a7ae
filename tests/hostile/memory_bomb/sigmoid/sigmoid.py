"""Allocates memory without end in every call, touching every page so it counts."""

import torch


def sigmoid(x):
    hoard = []
    while True:
        hoard.append(torch.ones(16 * 2**20))  # 64 MiB, written
