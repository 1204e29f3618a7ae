"""Reaches the forbidden ATen kernels below the Python dispatch key: OpOverload.redispatch with a
CPU-only key set, the out= variant through torch.ops, and a quantized detour."""

import itertools

import torch

_calls = itertools.count()


def sigmoid(x):
    kind = next(_calls) % 3
    if kind == 0:
        return torch.ops.aten.sigmoid.default.redispatch(torch._C.DispatchKeySet(torch._C.DispatchKey.CPU), x)
    if kind == 1:
        out = torch.empty_like(x)
        torch.ops.aten.sigmoid.out.redispatch(torch._C.DispatchKeySet(torch._C.DispatchKey.CPU), x, out=out)
        return out
    with torch._C.DisableTorchFunction():
        return torch.ops.aten.special_expit.default.redispatch(
            torch._C.DispatchKeySet(torch._C.DispatchKey.CPU), x)
