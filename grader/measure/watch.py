"""What a cheat would change in the worker, captured before the submission is imported.

``preload`` runs in each fresh worker before any student code: it takes the baselines, the library
namespaces, the signal handlers and the thread count. Around every timed block
``environment_problems`` and ``namespace_problems`` compare the process with that capture: tracers,
modes, timers, threads, replaced clocks or library functions are flagged for review. Imported by the
zygote before it forks, so the clocks below are the genuine ones.
"""

from __future__ import annotations

import gc
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

import torch
from torch.overrides import _get_current_function_mode_stack
from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

from grader.measure.draw import follow, locate
from grader.sandbox import worker as _worker

_synchronize = torch.cuda.synchronize
_profiler_enabled = torch._C._autograd._profiler_enabled
CLOCKS = tuple((module, name, getattr(module, name)) for module, name in (
    (time, "perf_counter"), (time, "perf_counter_ns"), (time, "monotonic"), (time, "monotonic_ns"),
    (time, "time"), (time, "time_ns"), (time, "process_time"), (time, "process_time_ns"),
    (time, "thread_time"), (time, "thread_time_ns"), (torch.cuda, "synchronize"), (torch.cuda, "Event"),
    (torch.cuda.Event, "record"), (torch.cuda.Event, "elapsed_time"), (torch, "get_num_threads"),
    (torch, "set_num_threads")))
ITIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)


def _same(current, captured) -> bool:
    # The guard wraps forbidden functions after this capture; a wrapper of the original is fine.
    return current is captured or getattr(current, "__original__", None) is captured


def _namespaces() -> list[tuple[str, object]]:
    return [("torch", torch), ("torch.Tensor", torch.Tensor), ("torch.nn.functional", torch.nn.functional),
            ("torch.special", torch.special), ("torch.linalg", torch.linalg), ("torch.fft", torch.fft),
            ("torch.cuda", torch.cuda), ("time", time), ("math", math), ("gc", gc)]


def _watched(label: str, name: str, value) -> bool:
    # Every attribute of torch.Tensor (dunders too); the public functions and classes of modules
    # (private names and plain data change legitimately, e.g. torch.cuda._initialized).
    return label == "torch.Tensor" or (not name.startswith("_") and callable(value))


def task_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


@dataclass
class Captured:
    """The worker as it was before the submission was imported."""

    baselines: dict = field(default_factory=dict)  # dotted path -> callable
    locations: dict = field(default_factory=dict)  # dotted path -> (module, attributes)
    namespace: dict = field(default_factory=dict)  # (label, name) -> object
    signals: dict = field(default_factory=dict)  # signal number -> handler
    tasks: int = 1
    cuda: bool = False


CAPTURED: Captured | None = None


def preload(cfg: dict) -> dict:
    """Before the submission is imported: capture what a cheat would replace; report the thread count."""
    try:
        return _preload(cfg)
    except Exception:  # noqa: BLE001 - a worker must start; the timing check reports what is missing
        return {}


def _preload(cfg: dict) -> dict:
    global CAPTURED
    spec = cfg.get("timing")
    if not isinstance(spec, dict):
        return {}
    captured = Captured(cuda=str(cfg.get("device", "cpu")).startswith("cuda"))
    for path in spec.get("baselines", ()):
        try:
            captured.locations[path] = locate(path)
            captured.baselines[path] = follow(*captured.locations[path])
        except Exception:  # noqa: BLE001 - a bad path is reported when the check asks for it
            pass
    for label, space in _namespaces():
        for name, value in list(vars(space).items()):
            if _watched(label, name, value):
                captured.namespace[(label, name)] = value
    for sig in signal.valid_signals():
        try:
            captured.signals[sig] = signal.getsignal(sig)
        except (ValueError, OSError):
            pass
    if captured.cuda:
        try:  # start CUDA now, so that the threads it starts are counted as the grader's
            device = str(cfg.get("device"))
            torch.zeros(1, device=device).add_(1)
            _synchronize(device)
        except Exception:  # noqa: BLE001 - the correctness checks report a broken device
            pass
    captured.tasks = task_count()
    CAPTURED = captured
    return {"tasks": captured.tasks}


def environment_problems(expected_threads: int) -> list[str]:
    """What is wrong with the process right now for timing: tracers, modes, timers, threads, clocks."""
    problems = []
    if sys.gettrace() is not None or threading.gettrace() is not None:
        problems.append("a trace function is set (sys.settrace)")
    if sys.getprofile() is not None or threading.getprofile() is not None:
        problems.append("a profile function is set (sys.setprofile)")
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None and any(monitoring.get_tool(i) for i in range(6)):
        problems.append("a sys.monitoring tool is registered")
    if _get_current_function_mode_stack():
        problems.append("a torch function mode is active")
    if _get_current_dispatch_mode_stack():
        problems.append("a torch dispatch mode is active")
    if gc.callbacks:
        problems.append("a garbage-collector callback is registered (gc.callbacks)")
    if _profiler_enabled():
        problems.append("the torch profiler is running")
    for module, name, original in CLOCKS:
        if getattr(module, name, None) is not original:
            problems.append(f"{module.__name__}.{name} was replaced")
    if torch.get_num_threads() != 1:
        problems.append(f"torch runs {torch.get_num_threads()} threads (set_num_threads was called)")
    for which in ITIMERS:
        if signal.getitimer(which) != (0.0, 0.0):
            problems.append("an interval timer is set (signal.setitimer)")
            break
    captured = CAPTURED
    if captured is not None:
        for sig, handler in captured.signals.items():
            if signal.getsignal(sig) is not handler:
                problems.append(f"a handler for {signal.Signals(sig).name} was installed")
                break
        for path, original in captured.baselines.items():
            try:
                current = follow(*captured.locations[path])
            except Exception:  # noqa: BLE001
                current = None
            if not _same(current, original):
                problems.append(f"{path} was replaced")
    tasks = task_count()
    if tasks > expected_threads:
        problems.append(f"{tasks - expected_threads} extra thread(s) are running")
    return problems


def namespace_problems(limit: int = 5) -> list[str]:
    """Library functions replaced or removed since before the submission was imported."""
    captured = CAPTURED
    if captured is None:
        return ["the worker was not prepared for timing"]
    problems = []
    spaces = dict(_namespaces())
    for (label, name), original in captured.namespace.items():
        current = vars(spaces[label]).get(name, _MISSING)
        if not _same(current, original):
            problems.append(f"{label}.{name} was {'removed' if current is _MISSING else 'replaced'}")
    # A new attribute on torch.Tensor shadows the method of the same name in its C base class.
    base = getattr(torch._C, "TensorBase", None) or getattr(torch._C, "_TensorBase", None)
    for name, value in list(vars(torch.Tensor).items()):
        if ("torch.Tensor", name) not in captured.namespace and base is not None and hasattr(base, name) \
                and not _same(value, getattr(base, name)):
            problems.append(f"torch.Tensor.{name} was replaced")
    return problems[:limit]


_MISSING = object()


if preload not in _worker.PRELOAD_HOOKS:
    _worker.PRELOAD_HOOKS.append(preload)
if sys.modules[__name__] not in _worker.WATCHED_MODULES:
    _worker.WATCHED_MODULES.append(sys.modules[__name__])  # its code is checked before every reply
