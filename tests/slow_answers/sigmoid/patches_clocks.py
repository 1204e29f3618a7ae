"""Vectorised, but replaces the clocks a timer inside the worker would read, so they run 100x slow."""
import time

import torch

for _name in ("perf_counter", "monotonic", "time", "process_time"):
    _real = getattr(time, _name)
    setattr(time, _name, lambda _real=_real: _real() / 100.0)
for _name in ("perf_counter_ns", "monotonic_ns", "time_ns", "process_time_ns"):
    _real = getattr(time, _name)
    setattr(time, _name, lambda _real=_real: _real() // 100)


def sigmoid(x):
    return 1.0 / (1.0 + torch.exp(-x))
