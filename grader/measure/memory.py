"""Memory checks: the ``[[memory]]`` tables of ``exercise.toml`` as scored pytest items.

A table names the student function, its arguments (the arg specs of ``[[timing]]``, drawn in the
worker) and per device a budget on the call's peak extra memory, with the input sizes::

    [[memory]]
    function = "flash_attention"
    reference = "grader.measure.baselines.flash_attention"  # optional: the measured call's result is checked
    args = [{randn = ["b", "t", "d"]}, {randn = ["b", "t", "d"]}, {randn = ["b", "t", "d"]}]
    kwargs = {causal = true}
    points = 1
    cpu = {budget_bytes = "16MiB", sizes = {b = 1, t = 4096, d = 64}}
    cuda = {budget_bytes = "64MiB", sizes = {b = 8, t = 8192, d = 64}}

Optional keys: ``name``, ``dtype`` (of generated floats), ``rtol``/``atol`` (for the reference
comparison), ``warmup`` (call once unmeasured first, default true) and, per device,
``slack_bytes`` (what the outside cross-check allows above the budget, default
``max(SLACK_FLOOR, budget / 2)``).

Peak extra memory is what the call allocates beyond its inputs, at its highest: every tensor it
creates and still holds at that moment, its result included. In the worker a ``TorchDispatchMode``
(:class:`StorageTracker`) counts the bytes of the storage each operator creates or grows and a weak
reference on each storage takes them off when it is freed; on CUDA the caching allocator's peak is
read too and the larger number counts. From outside, the trusted process reads the worker's memory
cgroup (or ``VmHWM`` without one) around the call: growth beyond the budget plus a slack fails the
check whatever the worker says, which catches memory the tracker cannot see (numpy, threads, raw
allocations) and a tracker the submission disabled. A memory check runs only when every
correctness check of its exercise passed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from grader.measure import draw
from grader.measure.budgets import BudgetItem
from grader.checks import CheckFailure, StudentError
from grader.units import mib, parse_size
from grader.course.discover import Exercise
from grader.errors import GraderError
from grader.messages import Message
from grader.measure.spec import DEVICES, device_tables, template as spec_template
from grader.measure.stats import mismatch, tolerances

SLACK_FLOOR = 24 * 2**20  # page-cache, heap and interpreter noise of one call, as the cgroup sees it
TABLE_KEYS = {"function", "reference", "args", "kwargs", "points", "name", "dtype", "rtol", "atol", "warmup",
              *DEVICES}
DEVICE_KEYS = {"budget_bytes", "sizes", "slack_bytes"}
SEED = 0x5EED_3E3  # fixed: the trusted side draws the same inputs again for the reference


# Tables ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemoryBudget:
    """One ``[[memory]]`` table as written, validated."""

    name: str
    function: str
    args: tuple
    kwargs: dict
    points: float
    reference: str | None = None
    options: dict = field(default_factory=dict)  # dtype, rtol, atol, warmup
    devices: dict = field(default_factory=dict)  # "cpu"/"cuda" -> {"budget_bytes", "slack_bytes", "sizes"}


@dataclass(frozen=True)
class MemoryPlan:
    """One memory check resolved for one device."""

    function: str
    template: dict  # {"args": [...], "kwargs": {...}}; generated values are {"$gen": spec}
    device: str
    budget_bytes: int
    slack_bytes: int
    reference: str | None = None
    rtol: float | None = None
    atol: float | None = None
    warmup: bool = True
    seed: int = SEED


def _positive_number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise GraderError(f"invalid value {value!r} in {where} (a positive number)")
    return float(value)


def parse_tables(exercise: Exercise) -> list[MemoryBudget]:
    """The exercise's ``[[memory]]`` tables, checked; a GraderError names what is wrong and where."""
    budgets: list[MemoryBudget] = []
    for i, table in enumerate(exercise.memory):
        where = f"{exercise.toml} [[memory]] #{i + 1}"
        if not isinstance(table, dict):
            raise GraderError(f"invalid table in {where}")
        unknown = set(table) - TABLE_KEYS
        if unknown:
            raise GraderError(f"unknown key {sorted(unknown)[0]!r} in {where} (known: {', '.join(sorted(TABLE_KEYS))})")
        for key in ("function", "args"):
            if key not in table:
                raise GraderError(f"missing {key!r} in {where}")
        function = table["function"]
        if function not in exercise.callable:
            raise GraderError(f"invalid function {function!r} in {where} (the exercise defines "
                              f"{', '.join(exercise.callable)})")
        args, kwargs = table["args"], table.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise GraderError(f"invalid args or kwargs in {where} (a list and a table)")
        reference = table.get("reference")
        if reference is not None and not (isinstance(reference, str) and reference.count(".") >= 1):
            raise GraderError(f"invalid reference {reference!r} in {where} (a dotted path)")
        options = {}
        for key, kind in (("dtype", str), ("warmup", bool)):
            if key in table:
                if not isinstance(table[key], kind):
                    raise GraderError(f"invalid value {table[key]!r} in {where}.{key} (a {kind.__name__})")
                options[key] = table[key]
        for key in ("rtol", "atol"):
            if key in table:
                options[key] = _positive_number(table[key], f"{where}.{key}")
        devices = {}
        for device, (spec, sizes) in device_tables(table, "budget_bytes", DEVICE_KEYS, where).items():
            budget = parse_size(spec["budget_bytes"], f"{where}.{device}.budget_bytes")
            slack = parse_size(spec["slack_bytes"], f"{where}.{device}.slack_bytes") if "slack_bytes" in spec \
                else max(SLACK_FLOOR, budget // 2)
            devices[device] = {"budget_bytes": budget, "slack_bytes": slack, "sizes": sizes}
        if not devices:
            raise GraderError(f"no budget in {where} (a cpu or cuda table)")
        name = table.get("name") or f"memory_{function}"
        if not isinstance(name, str):
            raise GraderError(f"invalid name {name!r} in {where}")
        if any(b.name == name for b in budgets):
            name = f"{name}_{i + 1}"
        budget = MemoryBudget(name, function, tuple(args), dict(kwargs),
                              _positive_number(table.get("points", 1), f"{where}.points"), reference, options, devices)
        for device in devices:  # every size name resolves and every spec is well formed
            plan_for(budget, device, where)
        budgets.append(budget)
    return budgets


def plan_for(budget: MemoryBudget, device: str, where: str = "") -> MemoryPlan | None:
    """The measurement plan on ``device`` ("cpu", "cuda", "cuda:1"), or None without a budget for it."""
    spec = budget.devices.get(device.split(":")[0])
    if spec is None:
        return None
    dtype = budget.options.get("dtype", "float32")
    where = where or budget.name
    template = spec_template(budget.args, budget.kwargs, spec["sizes"], dtype, where)
    return MemoryPlan(function=budget.function, template=template, device=device,
                      budget_bytes=spec["budget_bytes"], slack_bytes=spec["slack_bytes"], reference=budget.reference,
                      rtol=budget.options.get("rtol"), atol=budget.options.get("atol"),
                      warmup=bool(budget.options.get("warmup", True)))


# Measuring, from the trusted side --------------------------------------------------------------

class Probe:
    """The worker's memory growth during one request, read from outside the worker.

    With a memory cgroup (v1 ``memory.max_usage_in_bytes``, v2 ``memory.peak`` where it can be
    reset): the peak charge minus the charge before; the worker can write neither file. Without
    one, and only when the worker is not in a PID namespace of its own (so that its pid is known
    here): ``VmHWM`` minus ``VmRSS`` of ``/proc/PID/status`` after resetting the high-water mark —
    a coarser bound, since the worker could reset it too. ``source`` is None when neither works.
    """

    def __init__(self, handle):
        self.cgroup = getattr(handle, "cgroup", None)
        self.pid = handle.pid if "pid-ns" not in getattr(handle, "layers", ()) else None
        self.source: str | None = None
        self._before = 0
        self._fd: int | None = None

    def start(self) -> None:
        for begin in (self._cgroup_v1, self._cgroup_v2, self._proc):
            try:
                if begin():
                    return
            except (OSError, ValueError):
                self._close()
        self.source = None

    def stop(self) -> int | None:
        """Bytes the worker grew by at its peak since ``start``, or None without a source."""
        try:
            if self.source == "cgroup":
                if self._fd is not None:
                    os.lseek(self._fd, 0, os.SEEK_SET)
                    peak = int(os.read(self._fd, 64).decode().split()[0])
                else:
                    peak = int(Path(self.cgroup, "memory.max_usage_in_bytes").read_text())
                return max(0, peak - self._before)
            if self.source == "vmhwm":
                return max(0, _status_kib(self.pid, "VmHWM") * 1024 - self._before)
        except (OSError, ValueError, IndexError):
            return None
        finally:
            self._close()
        return None

    def _cgroup_v1(self) -> bool:
        if not self.cgroup or not Path(self.cgroup, "memory.max_usage_in_bytes").exists():
            return False
        Path(self.cgroup, "memory.max_usage_in_bytes").write_text("0")  # resets the peak to the usage now
        self._before = int(Path(self.cgroup, "memory.usage_in_bytes").read_text())
        self.source = "cgroup"
        return True

    def _cgroup_v2(self) -> bool:
        if not self.cgroup or not Path(self.cgroup, "memory.peak").exists():
            return False
        # Linux 6.12+: writing to memory.peak resets the peak seen through this descriptor.
        self._fd = os.open(os.path.join(self.cgroup, "memory.peak"), os.O_RDWR)
        os.write(self._fd, b"reset\n")
        self._before = int(Path(self.cgroup, "memory.current").read_text())
        self.source = "cgroup"
        return True

    def _proc(self) -> bool:
        if self.pid is None:
            return False
        with open(f"/proc/{self.pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the resident size now
        self._before = _status_kib(self.pid, "VmRSS") * 1024
        self.source = "vmhwm"
        return True

    def _close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise ValueError(f"no {key} in /proc/{pid}/status")


@dataclass(frozen=True)
class MemoryResult:
    """The outcome: a verdict, a message for the report and the numbers behind it."""

    verdict: str  # passed | over-budget | outside-tracker | tampered | wrong-result
    message: str  # a Message where the grader's words are the whole of it
    peak_bytes: int | None
    budget_bytes: int
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"peak_bytes": self.peak_bytes, "budget_bytes": self.budget_bytes, "verdict": self.verdict,
                **self.extra}


def measure(handle, plan: MemoryPlan, remaining, release: bool = False) -> MemoryResult:
    """Run one memory check in the worker behind ``handle``; ``remaining()`` gives each request's timeout.

    Raises StudentError when the function raises or uses a forbidden operation, WorkerFailure when
    the worker dies (a memory blow-up over the worker's limit included).
    """

    def request(op: str, **body):
        reply = handle.request({"op": op, **body}, timeout=remaining())
        if not reply["ok"]:
            raise StudentError(plan.function, reply.get("error") if isinstance(reply.get("error"), dict) else {})
        return reply.get("value")

    prepared = request("memory_prepare", function=plan.function, template=plan.template, seed=plan.seed,
                       warmup=plan.warmup)
    probe = Probe(handle)
    probe.start()
    try:
        value = request("memory_run")
    finally:
        grown = probe.stop()
    value = value if isinstance(value, dict) else {}
    try:
        reported = [int(value.get(k) or 0) for k in ("tracked_bytes", "allocator_bytes")]
    except (TypeError, ValueError):
        reported = None
    problems = [str(p)[:200] for p in value.get("problems", [])] if isinstance(value.get("problems"), list) \
        else ["the worker sent a malformed measurement"]
    if reported is None:
        problems.append("the worker sent a malformed measurement")
        reported = [0, 0]
    peak = max(reported)
    limit = plan.budget_bytes + plan.slack_bytes
    extra = {"device": plan.device, "tracked_bytes": reported[0],
             "allocator_bytes": reported[1] if plan.device.startswith("cuda") else None,
             "input_bytes": prepared.get("input_bytes") if isinstance(prepared, dict) else None,
             "cross_check": None if probe.source is None else
             {"source": probe.source, "grown_bytes": grown, "limit_bytes": limit}}
    verified = None
    if not problems and peak <= plan.budget_bytes:
        verified = _verify(request, plan, release)
    request("memory_release")
    extra["verified"] = None if verified is None else verified is True  # None: no reference, or not reached
    if problems:
        return MemoryResult("tampered", Message("memory.tampered", {"problems": "; ".join(problems[:3])}),
                            peak, plan.budget_bytes, extra)
    if peak > plan.budget_bytes:
        return MemoryResult("over-budget", Message("memory.over_budget"), peak, plan.budget_bytes, extra)
    if grown is not None and grown > limit:
        return MemoryResult("outside-tracker", Message("memory.outside_tracker", {
                                "grown": mib(grown), "budget": mib(plan.budget_bytes), "slack": mib(plan.slack_bytes)}),
                            peak, plan.budget_bytes, extra)
    if isinstance(verified, str):
        return MemoryResult("wrong-result", Message("memory.wrong_result", {"problem": verified}),
                            peak, plan.budget_bytes, extra)
    return MemoryResult("passed", "", peak, plan.budget_bytes, extra)


def _verify(request, plan: MemoryPlan, release: bool) -> bool | str | None:
    """Compare the measured call's result with the reference's on the same inputs: True, a problem, or None."""
    if plan.reference is None:
        return None
    try:
        reference = draw.resolve(plan.reference)
    except (ImportError, AttributeError):
        if release:  # a student release leaves grader/measure/baselines/ out: the result is checked on submission
            return None
        raise GraderError(f"the memory check's reference {plan.reference!r} cannot be imported") from None
    actual = request("memory_fetch")
    args, kwargs = draw.make_call(plan.template, plan.seed, 0, plan.device)
    with torch.no_grad():
        expected = reference(*args, **kwargs)
    problem = mismatch(actual, expected, *tolerances(expected, plan.rtol, plan.atol))
    return problem or True


class MemoryItem(BudgetItem):
    """One memory check: skipped unless every correctness check of the exercise passed."""

    kind = "memory"
    keys = {"no_budget": "budget.memory.none_for_device", "failed": "budget.memory.not_measured_failed",
            "none_ran": "budget.memory.not_measured_none_ran"}

    def runtest(self) -> None:
        plugin = self.plugin
        plan = self.plan_or_skip(plan_for)
        handle = plugin.worker(self.exercise)
        result = measure(handle, plan, plugin.call_timeout, release=bool(getattr(plugin.settings, "release", False)))
        self.measured = result.to_dict()
        if result.verdict != "passed":
            raise CheckFailure(result.message)


def collect(parent, exercise: Exercise, plugin):
    """The item factory registered with the plugin: one MemoryItem per ``[[memory]]`` table."""
    for budget in parse_tables(exercise):
        yield MemoryItem.from_parent(parent, name=budget.name, budget=budget, exercise=exercise, plugin=plugin)
