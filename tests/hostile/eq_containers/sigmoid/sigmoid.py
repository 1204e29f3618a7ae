"""The right numbers in the wrong containers: a numpy array, list/tuple/dict/float subclasses, and an
object whose __eq__, __bool__ and __array__ agree with anything.

The values are correct (an exp-based sigmoid), so any container that slipped through the codec
would earn points: every one must be refused as the wrong type.
"""

import itertools

import torch


class AgreeingList(list):
    def __eq__(self, other):
        return True


class AgreeingTuple(tuple):
    def __eq__(self, other):
        return True


class AgreeingDict(dict):
    def __eq__(self, other):
        return True


class AgreeingFloat(float):
    def __eq__(self, other):
        return True


class Anything:
    def __init__(self, values):
        self.values = values

    def __eq__(self, other):
        return True

    def __bool__(self):
        return True

    def __array__(self, dtype=None, copy=None):
        return self.values.numpy()


_calls = itertools.count()


def sigmoid(x: torch.Tensor) -> object:
    y = 1 / (1 + torch.exp(-x))
    kind = next(_calls) % 6
    if kind == 0:
        return y.numpy()
    if kind == 1:
        return AgreeingList(y.reshape(-1).tolist())
    if kind == 2:
        return AgreeingTuple(y.reshape(-1).tolist())
    if kind == 3:
        return AgreeingDict(result=y)
    if kind == 4:
        return AgreeingFloat(float(y.reshape(-1)[0])) if y.numel() else Anything(y)
    return Anything(y)
