"""Defeats the guard by someone who read its source: takes the original mode switches out of the
guard's wrappers (their closures), destroys the torch.library kernels that replace the forbidden
operators, pops the modes, calls the forbidden operator, then puts the modes back so that the mode
stacks look untouched."""

import gc

import torch
from torch.utils import _python_dispatch


def _original(fn):
    for cell in getattr(fn, "__closure__", None) or ():
        value = cell.cell_contents
        if callable(value) and getattr(value, "__name__", "") == getattr(fn, "__name__", None):
            return value
    return fn


def sigmoid(x):
    for obj in gc.get_objects():
        if isinstance(obj, torch.library.Library):
            try:
                obj._destroy()
            except Exception:
                pass
    pop_f = _original(torch._C._pop_torch_function_stack)
    pop_d = _original(torch._C._pop_torch_dispatch_stack)
    functions = [pop_f() for _ in range(torch._C._len_torch_function_stack())]
    dispatch = [pop_d() for _ in range(torch._C._len_torch_dispatch_stack())]
    try:
        return torch._C._VariableFunctions.sigmoid(x)
    finally:
        for mode in reversed(dispatch):
            torch._C._push_on_torch_dispatch_stack(mode)
        for mode in reversed(functions):
            torch._C._push_on_torch_function_stack(mode)
