"""Allocates memory without end while it is imported."""

hoard = []
while True:
    hoard.append(bytearray(b"x" * (32 * 2**20)))


def sigmoid(x):
    raise NotImplementedError
