"""The worker's side of timing: fresh inputs, timed blocks of calls, and a watch on the environment.

Imported by the zygote (through ``grader.timing``) before it forks, so the clocks and library
functions below are the genuine ones, and ``preload`` runs in each fresh worker before the
submission is imported. Nothing here decides a verdict: the trusted side times every request with
its own clock and reads what this module reports as a cross-check only. The same ``make_calls`` and
``run_block`` serve the trusted process's own baseline measurements, so both sides do identical work.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

import torch
from torch.overrides import _get_current_function_mode_stack
from torch.utils._python_dispatch import _disable_current_modes, _get_current_dispatch_mode_stack

from grader.sandbox import worker as _worker
from grader.sandbox.codec import DTYPES
from grader.sandbox.guard import ForbiddenOperation

# Taken at import, in the zygote, before any submission exists; a submission that rebinds the
# module attributes later changes nothing here.
_perf_ns = time.perf_counter_ns
_empty = torch.empty
_normal = torch.Tensor.normal_
_uniform = torch.Tensor.uniform_
_random = torch.Tensor.random_
_fill = torch.Tensor.fill_
_mul = torch.Tensor.mul_
_Generator = torch.Generator
_Tensor = torch.Tensor
_gc_disable, _gc_enable, _gc_isenabled = gc.disable, gc.enable, gc.isenabled
_profiler_enabled = torch._C._autograd._profiler_enabled
_no_function_modes, _no_dispatch_modes = torch._C.DisableTorchFunction, _disable_current_modes
CLOCKS = tuple((module, name, getattr(module, name)) for module, name in (
    (time, "perf_counter"), (time, "perf_counter_ns"), (time, "monotonic"), (time, "monotonic_ns"),
    (time, "time"), (time, "time_ns"), (time, "process_time"), (time, "process_time_ns"),
    (time, "thread_time"), (time, "thread_time_ns"), (torch.cuda, "synchronize"), (torch.cuda, "Event"),
    (torch.cuda.Event, "record"), (torch.cuda.Event, "elapsed_time"), (torch, "get_num_threads"),
    (torch, "set_num_threads")))
_synchronize = torch.cuda.synchronize
_Event = torch.cuda.Event
GEN_KEY = "$gen"  # marks a generated value in an argument template: {"$gen": {kind, shape, dtype, ...}}
CUDA_EXTRA_THREADS = 4  # threads the CUDA runtime may start after its first kernel (event handlers)
ITIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)


# Inputs ------------------------------------------------------------------------------------------

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


# Timed blocks --------------------------------------------------------------------------------------

class CudaKit:
    """What a CUDA block needs: a buffer larger than L2 to flush it, and one pair of events per call."""

    def __init__(self, device: str, calls: int):
        self.device = device
        props = torch.cuda.get_device_properties(torch.device(device))
        l2 = int(getattr(props, "L2_cache_size", 0) or 0) or 64 * 2**20
        # Writing twice the L2 size evicts every line the previous call left behind.
        self.flush_buffer = _empty(max(2 * l2, 64 * 2**20) // 4, dtype=torch.float32, device=device)
        self.events = [(_Event(enable_timing=True), _Event(enable_timing=True)) for _ in range(calls)]

    def flush(self) -> None:
        _fill(self.flush_buffer, 0.0)

    def sync(self) -> None:
        _synchronize(self.device)


def run_block(fn, calls: list, cuda: CudaKit | None = None, guard=None) -> tuple[list, int, list | None]:
    """Call ``fn`` once on each input of ``calls`` with GC off; (outputs, host ns, per-call CUDA ms).

    On the CPU the calls run back to back; on CUDA each is preceded by an L2 flush and a
    synchronisation, bracketed by events, and followed by a synchronisation. ``guard`` (the
    worker's, for the student's calls) is entered once around the whole block.
    """
    outs: list = [None] * len(calls)
    context = guard if guard is not None else contextlib.nullcontext()
    enabled = _gc_isenabled()
    _gc_disable()
    try:
        if cuda is None:
            t0 = _perf_ns()
            with context:
                for j, (args, kwargs) in enumerate(calls):
                    outs[j] = fn(*args, **kwargs)
            return outs, _perf_ns() - t0, None
        t0 = _perf_ns()
        with context:
            for j, (args, kwargs) in enumerate(calls):
                start, end = cuda.events[j]
                with paused_modes():
                    cuda.flush()
                    cuda.sync()
                start.record()
                outs[j] = fn(*args, **kwargs)
                end.record()
                cuda.sync()
        ns = _perf_ns() - t0
        return outs, ns, [start.elapsed_time(end) for start, end in cuda.events[:len(calls)]]
    finally:
        if enabled:
            _gc_enable()


def plain_problem(value, device: str, depth: int = 0) -> str | None:
    """Why ``value`` is not a plain result (exact tensors on ``device``, numbers, containers), or None."""
    if depth > 8:
        return "a result nested too deeply"
    if isinstance(value, torch.Tensor):
        if type(value) is not _Tensor:
            return f"a result of type {type(value).__qualname__} (a tensor subclass)"
        if value.layout != torch.strided or value.device.type != torch.device(device).type:
            return f"a tensor with layout {value.layout} on {value.device}"
        return None
    if isinstance(value, (tuple, list, dict)):
        for v in (value.values() if isinstance(value, dict) else value):
            problem = plain_problem(v, device, depth + 1)
            if problem:
                return problem
        return None
    if value is None or type(value) in (int, float, bool, str):
        return None
    return f"a result of type {type(value).__qualname__}"


# What a cheat would change ---------------------------------------------------------------------

def _locate(dotted: str) -> tuple[str, list[str]]:
    """(module to import, attributes to follow) for a dotted path such as ``torch.nn.functional.gelu``."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        return ".".join(parts[:cut]), parts[cut:]
    raise ImportError(f"cannot import {dotted}")


def _follow(module: str, attrs: list[str]):
    obj = sys.modules[module]
    for attr in attrs:
        obj = getattr(obj, attr)
    return obj


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


def _task_count() -> int:
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
            captured.locations[path] = _locate(path)
            captured.baselines[path] = _follow(*captured.locations[path])
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
    captured.tasks = _task_count()
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
                current = _follow(*captured.locations[path])
            except Exception:  # noqa: BLE001
                current = None
            if not _same(current, original):
                problems.append(f"{path} was replaced")
    tasks = _task_count()
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


# Requests ------------------------------------------------------------------------------------

@dataclass
class TimingState:
    """One timing check's state inside the worker."""

    function: object
    baseline: object
    device: str
    threads: int
    kit: CudaKit | None
    sets: dict = field(default_factory=dict)  # set name -> list of (args, kwargs)
    outs: dict = field(default_factory=dict)  # role -> (outputs, calls) of its last block


def _state(worker) -> TimingState:
    state = getattr(worker, "timing_state", None)
    if state is None:
        raise RuntimeError("timing_setup was not called")
    return state


def op_setup(worker, request: dict) -> dict:
    name = request["function"]  # None: an anchor worker, which times only the baseline
    fn = worker.function(name) if name is not None else None
    if fn is None and name is not None:
        raise AttributeError(f"{worker.cfg['exercise']}.py defines no function {name!r}")
    captured = CAPTURED
    baseline = captured.baselines.get(request["baseline"]) if captured else None
    if baseline is None:
        raise LookupError(f"the baseline {request['baseline']} was not loaded before the submission")
    device = worker.device
    calls = int(request["calls"])
    kit = CudaKit(device, calls) if device.startswith("cuda") else None
    expected = (captured.tasks if captured else 1) + (CUDA_EXTRA_THREADS if kit else 0)
    worker.timing_state = TimingState(fn, baseline, device, expected, kit)
    return {"tasks": _task_count()}


# Student code can reach these requests only through hooks (finalizers, callbacks, patched grader
# code); each runs under the worker's guard so that such code can use no forbidden operation.

def op_prepare(worker, request: dict) -> None:
    state = _state(worker)
    with worker.guard:
        state.outs.clear()  # the previous blocks' outputs are no longer needed: free their memory
        state.sets[request["set"]] = make_calls(request["template"], int(request["seed"]),
                                                int(request["calls"]), state.device)


def op_run(worker, request: dict) -> dict:
    state = _state(worker)
    role = request["role"]
    calls = state.sets.pop(request["set"])  # a set is used once: no tensor is timed twice
    student = role == "student"
    fn = state.function if student else state.baseline
    if fn is None:
        raise LookupError("this worker times only the baseline")
    guard = worker.guard if student else None
    problems = environment_problems(state.threads)
    worker.guard.violations.clear()
    outs, ns, ms = run_block(fn, calls, state.kit, guard)
    if student and worker.guard.violations:
        seen = list(dict.fromkeys(worker.guard.violations))
        raise ForbiddenOperation("used a forbidden operation: " + ", ".join(seen[:3]))
    if student and not worker.guard.intact():
        problems.append("the grader's guard was removed or altered")
    problems += [p for p in environment_problems(state.threads) if p not in problems]
    for out in outs:
        problem = plain_problem(out, state.device)
        if problem:
            problems.append(f"a timed call returned {problem}")
            break
    state.outs[role] = (outs, calls)
    return {"ns": ns, "ms": ms, "problems": problems}


def op_fetch(worker, request: dict) -> dict:
    outs, calls = _state(worker).outs[request["role"]]
    j = int(request["index"])
    with worker.guard:
        return {"value": outs[j], "args": list(calls[j][0]) if request.get("args") else None}


def op_verify(worker, request: dict) -> dict:
    return {"problems": namespace_problems()}


def op_release(worker, request: dict) -> None:
    worker.timing_state = None


_worker.EXTRA_OPS.update({"timing_setup": op_setup, "timing_prepare": op_prepare, "timing_run": op_run,
                          "timing_fetch": op_fetch, "timing_verify": op_verify, "timing_release": op_release})
if preload not in _worker.PRELOAD_HOOKS:
    _worker.PRELOAD_HOOKS.append(preload)
if sys.modules[__name__] not in getattr(_worker, "WATCHED_MODULES", [sys.modules[__name__]]):
    _worker.WATCHED_MODULES.append(sys.modules[__name__])  # its code is checked before every reply
