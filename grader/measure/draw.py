"""Inputs of timing and memory checks, drawn inside the worker, and dotted names resolved to functions.

An argument spec written in ``exercise.toml`` (``{randn = ["n", "d"]}``) reaches the worker as a
template (``grader.measure.spec``); every call of a block draws fresh tensors from a seed chosen per
set. The same functions serve the trusted process's own baseline measurements, so both sides do
identical work. Imported by the zygote before it forks: the torch primitives below are the genuine ones.
"""

from __future__ import annotations

import contextlib
import importlib
import sys

import torch
from torch.utils._python_dispatch import _disable_current_modes

from grader.sandbox import worker as _worker
from grader.sandbox.codec import DTYPES

# Taken at import, in the zygote, before any submission exists; a submission that rebinds the
# module attributes later changes nothing here.
_empty = torch.empty
_normal = torch.Tensor.normal_
_uniform = torch.Tensor.uniform_
_random = torch.Tensor.random_
_fill = torch.Tensor.fill_
_mul = torch.Tensor.mul_
_Generator = torch.Generator
_synchronize = torch.cuda.synchronize
_no_function_modes, _no_dispatch_modes = torch._C.DisableTorchFunction, _disable_current_modes
GEN_KEY = "$gen"  # marks a generated value in an argument template: {"$gen": {kind, shape, dtype, ...}}


def make_value(spec: dict, gen: torch.Generator, device: str) -> torch.Tensor:
    """One fresh tensor drawn from ``gen`` as ``spec`` says (randn, rand, randint, zeros, ones)."""
    kind, shape, dtype = spec["kind"], tuple(spec["shape"]), DTYPES[spec["dtype"]]
    t = _empty(shape, dtype=dtype, device=device)
    if kind == "randn":
        _normal(t, 0.0, 1.0, generator=gen)
        if spec.get("scale", 1.0) != 1.0:
            _mul(t, spec["scale"])
    elif kind == "rand":
        _uniform(t, 0.0, 1.0, generator=gen)
    elif kind == "randint":
        _random(t, int(spec["low"]), int(spec["high"]), generator=gen)
    else:  # zeros, ones: a new tensor each call all the same
        _fill(t, 1 if kind == "ones" else 0)
    return t


def _fill_template(value, gen: torch.Generator, device: str):
    if isinstance(value, dict) and GEN_KEY in value:
        return make_value(value[GEN_KEY], gen, device)
    if isinstance(value, list):
        return [_fill_template(v, gen, device) for v in value]
    if isinstance(value, dict):
        return {k: _fill_template(v, gen, device) for k, v in value.items()}
    return value


def call_seed(seed: int, index: int) -> int:
    """The seed of call ``index`` of a set drawn from ``seed``: any call can be redrawn on its own."""
    return (seed + index * 0x9E3779B97F4A7C15) % (1 << 63)


def make_call(template: dict, seed: int, index: int, device: str) -> tuple[tuple, dict]:
    """The (args, kwargs) of call ``index`` of the set drawn from ``seed``."""
    gen = _Generator(device=device)
    gen.manual_seed(call_seed(seed, index))
    args = tuple(_fill_template(a, gen, device) for a in template["args"])
    kwargs = {k: _fill_template(v, gen, device) for k, v in template["kwargs"].items()}
    return args, kwargs


def make_calls(template: dict, seed: int, calls: int, device: str) -> list[tuple[tuple, dict]]:
    """``calls`` fresh (args, kwargs) pairs: new tensors, new values, never seen before."""
    with paused_modes():  # inside the worker's guard: the grader's own drawing is neither seen nor slowed
        out = [make_call(template, seed, j, device) for j in range(calls)]
        if device.startswith("cuda"):
            _synchronize(device)
    return out


@contextlib.contextmanager
def paused_modes():
    """Torch function and dispatch modes (the guard's) off for the grader's own tensor operations."""
    with _no_function_modes(), _no_dispatch_modes():
        yield



# Dotted names --------------------------------------------------------------------------------------

def locate(dotted: str) -> tuple[str, list[str]]:
    """(module to import, attributes to follow) for a dotted path such as ``torch.nn.functional.gelu``."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        return ".".join(parts[:cut]), parts[cut:]
    raise ImportError(f"cannot import {dotted}")


def follow(module: str, attrs: list[str]):
    obj = sys.modules[module]
    for attr in attrs:
        obj = getattr(obj, attr)
    return obj


def resolve(dotted: str):
    """Import a dotted path (a library op or a function of grader.measure.baselines) in this process."""
    return follow(*locate(dotted))


if sys.modules[__name__] not in _worker.WATCHED_MODULES:
    _worker.WATCHED_MODULES.append(sys.modules[__name__])  # its code is checked before every reply
