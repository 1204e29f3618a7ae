"""The worker's side of timing: timed blocks of calls, and the requests a timing check sends.

Imported by the zygote (through ``grader.measure.timing``) before it forks, so the clocks and
library functions below are the genuine ones. Nothing here decides a verdict: the trusted side times
every request with its own clock and reads what this module reports as a cross-check only. The
same ``run_block`` serves the trusted process's own baseline measurements, so both sides do
identical work. Inputs are drawn by ``grader.measure.draw``; the watch on the environment is
``grader.measure.watch``.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from dataclasses import dataclass, field

import torch

from grader.measure import watch
from grader.measure.draw import make_calls, paused_modes
from grader.sandbox import worker as _worker
from grader.sandbox.policy import ForbiddenOperation

_perf_ns = time.perf_counter_ns
_empty = torch.empty
_fill = torch.Tensor.fill_
_Tensor = torch.Tensor
_gc_disable, _gc_enable, _gc_isenabled = gc.disable, gc.enable, gc.isenabled
_synchronize = torch.cuda.synchronize
_Event = torch.cuda.Event
CUDA_EXTRA_THREADS = 4  # threads the CUDA runtime may start after its first kernel (event handlers)


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
        raise AttributeError(f"{worker.exercise}.py defines no function {name!r}")
    captured = watch.CAPTURED
    baseline = captured.baselines.get(request["baseline"]) if captured else None
    if baseline is None:
        raise LookupError(f"the baseline {request['baseline']} was not loaded before the submission")
    device = worker.device
    calls = int(request["calls"])
    kit = CudaKit(device, calls) if device.startswith("cuda") else None
    expected = (captured.tasks if captured else 1) + (CUDA_EXTRA_THREADS if kit else 0)
    worker.timing_state = TimingState(fn, baseline, device, expected, kit)
    return {"tasks": watch.task_count()}


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
    problems = watch.environment_problems(state.threads)
    worker.guard.violations.clear()
    outs, ns, ms = run_block(fn, calls, state.kit, guard)
    if student and worker.guard.violations:
        seen = list(dict.fromkeys(worker.guard.violations))
        raise ForbiddenOperation("used a forbidden operation: " + ", ".join(seen[:3]))
    if student and not worker.guard.intact():
        problems.append("the grader's guard was removed or altered")
    problems += [p for p in watch.environment_problems(state.threads) if p not in problems]
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
    return {"problems": watch.namespace_problems()}


def op_release(worker, request: dict) -> None:
    worker.timing_state = None




_worker.EXTRA_OPS.update({"timing_setup": op_setup, "timing_prepare": op_prepare, "timing_run": op_run,
                          "timing_fetch": op_fetch, "timing_verify": op_verify, "timing_release": op_release})
if sys.modules[__name__] not in _worker.WATCHED_MODULES:
    _worker.WATCHED_MODULES.append(sys.modules[__name__])  # its code is checked before every reply
