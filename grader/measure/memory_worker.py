"""The worker's side of memory checks: a dispatch mode that counts the storage a call holds.

:class:`StorageTracker` adds the bytes of every storage an operator creates or grows and takes them
off when torch frees it (a weak reference per counted storage); its peak is the call's peak extra
memory as the worker sees it. The requests below draw a check's inputs, make the warm-up call and
the measured one, and hand the result back for comparison. Imported by the zygote before it forks:
the functions bound at import below are the genuine ones. What the worker reports is cross-checked
from outside by the trusted side (``grader.measure.memory``).
"""

from __future__ import annotations

import ctypes
import gc
import sys
import weakref
from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode_stack
from torch.utils._pytree import tree_leaves

from grader.measure import draw
from grader.sandbox import worker as _worker

# Bound at import, in the zygote, before any submission exists.

_Tensor = torch.Tensor
_leaves = tree_leaves
_ref = weakref.ref
_id = id
_dispatch_stack = _get_current_dispatch_mode_stack
_gc_collect = gc.collect
_sync = torch.cuda.synchronize
_reset_peak = torch.cuda.reset_peak_memory_stats
_allocated = torch.cuda.memory_allocated
_max_allocated = torch.cuda.max_memory_allocated
_LIFTS = ("lift_fresh",)  # returns its argument, a tensor torch.tensor() made outside the dispatcher
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
LARGE_BLOCK = 2**20
try:
    _libc = ctypes.CDLL(None)
    _mallopt, _malloc_trim = _libc.mallopt, _libc.malloc_trim
except (OSError, AttributeError):  # not glibc: the cross-check is coarser
    _mallopt = _malloc_trim = None


class TrackerTampered(RuntimeError):
    """The submission removed or altered the memory tracker while it ran."""


def _schema_of(func) -> tuple[tuple[bool, ...], tuple[int, ...], tuple[str, ...]]:
    """Per return, whether it is a new tensor; the positions and names of the arguments written to."""
    schema = func._schema
    lift = func.overloadpacket.__name__ in _LIFTS
    fresh = tuple(lift or r.alias_info is None for r in schema.returns)
    written = [(i, a.name) for i, a in enumerate(schema.arguments) if a.alias_info is not None and a.alias_info.is_write]
    return fresh, tuple(i for i, _ in written), tuple(n for _, n in written)


class StorageTracker(TorchDispatchMode):
    """Peak bytes of tensor storage created or grown under it and alive at the same time.

    A storage counts from the operator that returns it as a new tensor (or grows it, ``resize_``
    and ``out=``) until a weak reference says it was freed; views and in-place results add
    nothing. Only storages on ``devices`` count.
    """

    def __init__(self, devices: frozenset):
        super().__init__()
        self.devices = devices
        self.live = 0
        self.peak = 0
        self.ops = 0
        self.entries: dict[int, list] = {}  # id(storage) -> [weak reference, bytes counted]
        self.schemas: dict = {}

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # torch would wrap __torch_dispatch__ in a dynamo guard costing ~30 µs an operator

    def _add(self, storage, nbytes: int) -> None:
        if nbytes <= 0 or storage.device.type not in self.devices:
            return
        key = _id(storage)
        entry = self.entries.get(key)
        if entry is None:
            entry = [None, 0]
            tracker = self

            def freed(_, key=key, entry=entry):
                tracker.live -= entry[1]
                tracker.entries.pop(key, None)

            entry[0] = _ref(storage, freed)
            self.entries[key] = entry
        entry[1] += nbytes
        self.live += nbytes

    def _new(self, result) -> None:
        for t in ((result,) if type(result) is _Tensor else result):
            if type(t) is _Tensor:
                storage = t.untyped_storage()
                self._add(storage, storage.nbytes() - self._counted(storage))

    def _counted(self, storage) -> int:
        entry = self.entries.get(_id(storage))
        return entry[1] if entry is not None and entry[0]() is storage else 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        shape = self.schemas.get(func)
        if shape is None:
            shape = self.schemas[func] = _schema_of(func)
        fresh, positions, names = shape
        before = ()
        if positions or names:
            written = [v for i in positions if i < len(args) for v in _leaves(args[i])]
            written += [v for n in names if n in kwargs for v in _leaves(kwargs[n])]
            before = [(t, t.untyped_storage(), t.untyped_storage().nbytes()) for t in written if type(t) is _Tensor]
        out = func(*args, **kwargs)
        self.ops += 1
        if len(fresh) == 1:
            if fresh[0]:
                self._new(out if type(out) is _Tensor else _leaves(out))
        elif isinstance(out, (tuple, list)):
            for is_new, result in zip(fresh, out):
                if is_new:
                    self._new(result if type(result) is _Tensor else _leaves(result))
        for t, storage, nbytes in before:  # out= and resize_: the storage grew, or was swapped
            now = t.untyped_storage()
            if now is storage:
                self._add(now, now.nbytes() - nbytes)
            elif not self._counted(now):
                self._add(now, now.nbytes())
        if self.live > self.peak:
            self.peak = self.live
        return out


def _large_blocks_unmapped() -> None:
    """Large heap blocks mapped and unmapped one by one, so that the cgroup sees the call's real peak."""
    if _mallopt is not None:
        _worker.RECONFIGURED.add("malloc")  # the next exercise gets a fresh worker (process_state)
        _mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK)  # also turns off glibc's sliding threshold
        _mallopt(M_TRIM_THRESHOLD, LARGE_BLOCK)
        _malloc_trim(0)


@dataclass
class MemoryState:
    """One memory check's state inside the worker."""

    function: object
    args: tuple
    kwargs: dict
    out: object = None


def _state(worker) -> MemoryState:
    state = getattr(worker, "memory_state", None)
    if state is None:
        raise RuntimeError("memory_prepare was not called")
    return state


def _nbytes(value) -> int:
    return sum(t.untyped_storage().nbytes() for t in _leaves(value) if isinstance(t, _Tensor))


def op_prepare(worker, request: dict) -> dict:
    """Draw the inputs and (unmeasured) call the function once on them."""
    name = request["function"]
    fn = worker.function(name)
    if fn is None:
        raise AttributeError(f"{worker.exercise}.py defines no function {name!r}")
    device = worker.device
    worker.memory_state = None
    with worker.guard:
        args, kwargs = draw.make_calls(request["template"], int(request["seed"]), 1, device)[0]
    state = MemoryState(fn, args, kwargs)
    if request.get("warmup", True):
        with worker.guard:
            fn(*args, **kwargs)  # first-use costs (code pages, library workspaces) are not the answer's
    worker.memory_state = state
    _gc_collect()
    _large_blocks_unmapped()
    return {"input_bytes": _nbytes((args, kwargs))}


def op_run(worker, request: dict) -> dict:
    """The measured call: tracker inside the guard; the numbers and what looked tampered with."""
    state = _state(worker)
    device = worker.device
    cuda = device.startswith("cuda")
    tracker = StorageTracker(frozenset({"cpu", torch.device(device).type}))
    problems: list[str] = []
    base = 0
    _gc_collect()
    if cuda:
        _sync(device)
        _reset_peak(device)
        base = _allocated(device)
    on_top = True
    with worker.guard:
        tracker.__enter__()
        fields = frozenset(vars(tracker))
        try:
            state.out = state.function(*state.args, **state.kwargs)
            if cuda:
                _sync(device)
        finally:
            stack = _dispatch_stack()
            on_top = bool(stack) and stack[-1] is tracker
            if on_top:
                tracker.__exit__(None, None, None)
    allocator = max(0, _max_allocated(device) - base) if cuda else 0
    if not on_top:
        problems.append("the grader's memory tracker was removed from the dispatch stack")
    if type(tracker) is not StorageTracker or frozenset(vars(tracker)) != fields or tracker.live > tracker.peak:
        problems.append("the grader's memory tracker was altered")
    if not worker.guard.intact():
        problems.append("the grader's guard was removed or altered")
    return {"tracked_bytes": int(tracker.peak), "allocator_bytes": int(allocator), "ops": tracker.ops,
            "problems": problems}


def op_fetch(worker, request: dict) -> dict:
    state = _state(worker)
    with worker.guard:
        return state.out


def op_release(worker, request: dict) -> None:
    worker.memory_state = None
    _gc_collect()


_worker.EXTRA_OPS.update({"memory_prepare": op_prepare, "memory_run": op_run, "memory_fetch": op_fetch,
                          "memory_release": op_release})
if sys.modules[__name__] not in _worker.WATCHED_MODULES:
    _worker.WATCHED_MODULES.append(sys.modules[__name__])  # its code is checked before every reply
