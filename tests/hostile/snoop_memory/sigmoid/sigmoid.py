"""Looks for expected values in the worker's memory: the callers' frames, every object the garbage
collector tracks, and the grader's own modules. Any tensor shaped like the answer that is not the
input itself is returned as the answer; with nothing found, zeros.

Expected values never enter the worker, so nothing found can be right.
"""

import gc
import sys

import torch


def _candidates(x):
    seen = set()
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            yield value
        frame = frame.f_back
    for obj in gc.get_objects():
        if isinstance(obj, torch.Tensor):
            yield obj
        elif isinstance(obj, dict) and obj and any(isinstance(v, torch.Tensor) for v in obj.values()):
            yield from list(obj.values())


def sigmoid(x):
    for value in _candidates(x):
        if isinstance(value, torch.Tensor) and value is not x and value.shape == x.shape \
                and value.dtype == x.dtype and not torch.equal(value, x):
            if bool(((value > 0) & (value < 1)).all()):
                return value.clone()
    return torch.zeros_like(x)
