"""Slow (the work done forty times over), and makes the library's sigmoid 30x slower for the
rest of the worker's life: an audit hook, fired by the first ``os.listdir`` outside the guard,
replaces the CPU kernel of aten::sigmoid. Nothing inside the worker notices; compared with the
worker's own baseline this answer would look fast."""
import sys

import torch

_library = None


def _slow_kernel(x):
    for _ in range(30):
        y = 1.0 / (1.0 + torch.exp(-x))
    return y


def _hook(event, args):
    global _library
    if _library is None and event == "os.listdir" and not torch.overrides._get_current_function_mode_stack():
        _library = torch.library.Library("aten", "IMPL")
        _library.impl("sigmoid", _slow_kernel, "CPU")


sys.addaudithook(_hook)


def sigmoid(x):
    for _ in range(39):
        1.0 / (1.0 + torch.exp(-x))
    return 1.0 / (1.0 + torch.exp(-x))
