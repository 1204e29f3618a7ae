"""Disables the guard's torch modes with torch's own switches, then calls the forbidden
torch.sigmoid: _disable_current_modes with DisableTorchFunction, _DisableTorchDispatch, excluding
the Python dispatch key, popping the mode stacks, and inference mode.

Its answer is right whenever the forbidden call goes through unnoticed."""

import itertools

import torch
from torch.utils import _python_dispatch

_calls = itertools.count()


def _pop_and_call(x):
    functions = [torch._C._pop_torch_function_stack() for _ in range(torch._C._len_torch_function_stack())]
    dispatch = [torch._C._pop_torch_dispatch_stack() for _ in range(torch._C._len_torch_dispatch_stack())]
    try:
        return torch._C._VariableFunctions.sigmoid(x)
    finally:
        for mode in reversed(dispatch):
            torch._C._push_on_torch_dispatch_stack(mode)
        for mode in reversed(functions):
            torch._C._push_on_torch_function_stack(mode)


def sigmoid(x):
    kind = next(_calls) % 5
    if kind == 0:
        with _python_dispatch._disable_current_modes(), torch._C.DisableTorchFunction():
            return torch._C._VariableFunctions.sigmoid(x)
    if kind == 1:
        with torch._C._DisableTorchDispatch(), torch._C.DisableTorchFunction():
            return torch._C._VariableFunctions.sigmoid(x)
    if kind == 2:
        keys = torch._C.DispatchKeySet(torch._C.DispatchKey.Python)
        with torch._C._ExcludeDispatchKeyGuard(keys), torch._C.DisableTorchFunction():
            return torch._C._VariableFunctions.sigmoid(x)
    if kind == 3:
        return _pop_and_call(x)
    with torch.inference_mode(), torch._C.DisableTorchFunction():
        return torch._C._VariableFunctions.sigmoid(x).clone()
