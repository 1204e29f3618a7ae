"""Tensors that claim to equal anything: a subclass whose __torch_function__ answers every
comparison with True, a subclass that pretends its class is torch.Tensor, and nn.Parameter.

Each carries the all-zeros values; if the grader trusted any of them, comparisons would pass.
"""

import itertools

import torch


class Liar(torch.Tensor):
    """Every comparison, reduction and closeness test says yes."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in {"eq", "__eq__", "allclose", "isclose", "equal", "all", "any", "ne", "__ne__", "lt", "gt",
                    "le", "ge", "__lt__", "__gt__", "__le__", "__ge__"}:
            return True if name not in {"ne", "__ne__"} else False
        with torch._C.DisableTorchFunctionSubclass():
            return func(*args, **(kwargs or {}))

    def __eq__(self, other):
        return True

    def __bool__(self):
        return True


class Impostor(torch.Tensor):
    """Reports torch.Tensor as its class."""

    @property
    def __class__(self):
        return torch.Tensor


_calls = itertools.count()


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    zeros = torch.zeros_like(x)
    kind = next(_calls) % 3
    if kind == 0:
        return zeros.as_subclass(Liar)
    if kind == 1:
        return zeros.as_subclass(Impostor)
    return torch.nn.Parameter(zeros, requires_grad=False)
