"""Timing checks: the ``[[timing]]`` tables of ``exercise.toml`` as scored pytest items.

A table names the student function, a baseline (the library op, or a function of
``grader.baselines``), the arguments (drawn fresh for every call), and per device a budget — the
largest allowed ratio of the student's time to the baseline's — with the input sizes::

    [[timing]]
    function = "softmax"
    baseline = "torch.softmax"
    args = [{randn = ["n", "d"]}]
    kwargs = {dim = -1}
    points = 1
    cpu = {budget = 4.0, sizes = {n = 1024, d = 1024}}
    cuda = {budget = 4.0, sizes = {n = 8192, d = 4096}}

Optional keys, at the top of the table or inside ``cpu``/``cuda``: ``name`` (the check's name),
``dtype`` (of generated floats, default float32), ``rounds`` and ``max_rounds``, ``check_every``
(how often an output of a timed call is compared with the baseline's; 0 never), ``min_ratio``
(faster than this is flagged for review, default 0.2), ``rtol``/``atol`` for that comparison,
``mutates`` (the function updates its arguments: compare them too) and ``target_ms`` (a block's
length). A timing check runs only when every correctness check of its exercise passed; the
measurement itself lives in :mod:`grader.timing_session`.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.measure import timing_worker  # noqa: F401 - timing_worker registers the worker's timing requests
from grader.measure.budgets import BudgetItem
from grader.checks import CheckFailure
from grader.sandbox.codec import DTYPES
from grader.course.discover import Exercise
from grader.errors import GraderError, WorkerFailure
from grader.measure.draw import resolve
from grader.messages import Message
from grader.measure.spec import DEVICES, device_tables, number, template as spec_template
from grader.measure.timing_session import Plan, Session, TimingInconclusive

DRAW_ATEN = ("empty", "normal", "uniform", "random", "fill", "mul")  # what drawing inputs dispatches to
OPTIONS = {"name": str, "dtype": str, "rounds": int, "max_rounds": int, "check_every": int,
           "min_ratio": float, "rtol": float, "atol": float, "mutates": bool, "target_ms": float}
TABLE_KEYS = {"function", "baseline", "args", "kwargs", "points", *DEVICES, *OPTIONS}
DEVICE_KEYS = {"budget", "sizes", *(set(OPTIONS) - {"name", "mutates"})}

@dataclass(frozen=True)
class Budget:
    """One ``[[timing]]`` table as written, validated."""

    name: str
    function: str
    baseline: str
    args: tuple
    kwargs: dict
    points: float
    options: dict = field(default_factory=dict)
    devices: dict = field(default_factory=dict)  # "cpu"/"cuda" -> {"budget", "sizes", options...}


def _options(table: dict, allowed: set, where: str) -> dict:
    out = {}
    for key in allowed & set(table) & set(OPTIONS):
        kind, value = OPTIONS[key], table[key]
        if kind in (int, float):
            out[key] = number(value, f"{where}.{key}", kind, positive=key not in ("check_every",))
            if key == "check_every" and out[key] < 0:
                raise GraderError(f"invalid value {value!r} in {where}.{key}")
        elif not isinstance(value, kind):
            raise GraderError(f"invalid value {value!r} in {where}.{key} (a {kind.__name__})")
        else:
            out[key] = value
    if "dtype" in out and out["dtype"] not in DTYPES:
        raise GraderError(f"invalid dtype {out['dtype']!r} in {where}")
    return out


def parse_tables(exercise: Exercise) -> list[Budget]:
    """The exercise's ``[[timing]]`` tables, checked; a GraderError names what is wrong and where."""
    budgets: list[Budget] = []
    drawn = sorted(a for a in exercise.forbidden.get("aten", ()) if str(a).rstrip("_") in DRAW_ATEN)
    if exercise.timing and drawn:
        raise GraderError(f"[forbidden] aten of {exercise.toml} lists {', '.join(drawn)}, which the timing checks "
                          f"need to draw their inputs inside the worker's guard")
    for i, table in enumerate(exercise.timing):
        where = f"{exercise.toml} [[timing]] #{i + 1}"
        if not isinstance(table, dict):
            raise GraderError(f"invalid table in {where}")
        unknown = set(table) - TABLE_KEYS
        if unknown:
            raise GraderError(f"unknown key {sorted(unknown)[0]!r} in {where} (known: {', '.join(sorted(TABLE_KEYS))})")
        for key in ("function", "baseline", "args"):
            if key not in table:
                raise GraderError(f"missing {key!r} in {where}")
        function, baseline = table["function"], table["baseline"]
        if function not in exercise.callable:
            raise GraderError(f"invalid function {function!r} in {where} (the exercise defines "
                              f"{', '.join(exercise.callable)})")
        try:
            if not callable(resolve(str(baseline))):
                raise ImportError(baseline)
        except (ImportError, AttributeError):
            raise GraderError(f"invalid baseline {baseline!r} in {where} (not an importable callable)") from None
        args, kwargs = table["args"], table.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise GraderError(f"invalid args or kwargs in {where} (a list and a table)")
        devices = {}
        for device, (spec, sizes) in device_tables(table, "budget", DEVICE_KEYS, where).items():
            devices[device] = {"budget": number(spec["budget"], f"{where}.{device}.budget"), "sizes": sizes,
                               **_options(spec, DEVICE_KEYS, f"{where}.{device}")}
        if not devices:
            raise GraderError(f"no budget in {where} (a cpu or cuda table)")
        options = _options(table, set(OPTIONS), where)
        name = options.pop("name", None) or f"timing_{function}"
        if any(b.name == name for b in budgets):
            name = f"{name}_{i + 1}"
        budget = Budget(name, function, str(baseline), tuple(args), dict(kwargs),
                        number(table.get("points", 1), f"{where}.points"), options, devices)
        for device in devices:  # every size name resolves and every spec is well formed
            plan_for(budget, device, where)
        budgets.append(budget)
    return budgets


def plan_for(budget: Budget, device: str, where: str = "") -> Plan | None:
    """The measurement plan on ``device`` ("cpu", "cuda", "cuda:1"), or None without a budget for it."""
    spec = budget.devices.get(device.split(":")[0])
    if spec is None:
        return None
    options = {**budget.options, **{k: v for k, v in spec.items() if k not in ("budget", "sizes")}}
    dtype = options.get("dtype", "float32")
    where = where or budget.name
    template = spec_template(budget.args, budget.kwargs, spec["sizes"], dtype, where)
    min_rounds = int(options.get("rounds", 10))
    return Plan(function=budget.function, baseline=budget.baseline, template=template, device=device,
                budget=spec["budget"], min_rounds=min_rounds,
                max_rounds=max(min_rounds, int(options.get("max_rounds", 4 * min_rounds))),
                check_every=int(options.get("check_every", 3)), min_ratio=float(options.get("min_ratio", 0.2)),
                rtol=options.get("rtol"), atol=options.get("atol"), mutates=bool(options.get("mutates", False)),
                target_ms=options.get("target_ms"))


def worker_config(exercise: Exercise, settings) -> dict:
    """What a worker must capture before the submission is imported: the baselines it will time."""
    if not exercise.timing or not settings.timing:
        return {}
    baselines = sorted({str(t.get("baseline")) for t in exercise.timing if isinstance(t, dict)})
    return {"timing": {"baselines": baselines}}


@contextlib.contextmanager
def anchor_worker(sandbox, exercise: Exercise, settings):
    """A worker of ``exercise`` in the same sandbox whose module is empty: it times the baseline alone."""
    root = Path(tempfile.mkdtemp(prefix="grade-anchor-"))
    try:
        (root / exercise.id).mkdir()
        (root / exercise.id / f"{exercise.id}.py").write_text('"""The timing anchor: no submission."""\n')
        try:
            handle = sandbox.open(root, exercise.id, exercise.forbidden, extra=worker_config(exercise, settings))
        except WorkerFailure as failure:
            raise TimingInconclusive(f"the grader's timing worker did not start: {failure}") from None
        try:
            yield handle
        finally:
            handle.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


class TimingItem(BudgetItem):
    """One timing check: skipped unless every correctness check of the exercise passed."""

    kind = "timing"

    def runtest(self) -> None:
        plugin = self.plugin
        if not plugin.settings.timing:
            self.uncounted = True
            pytest.skip(Message("check.timing_off"))
        plan = self.plan_or_skip(plan_for)
        handle = plugin.worker(self.exercise)
        with anchor_worker(plugin.sandbox, self.exercise, plugin.settings) as anchor:
            result = Session(handle, anchor, plan, remaining=plugin.call_timeout).run()
        self.measured = result.to_dict() if result.ratio is not None else None  # the schema: a float ratio or null
        if result.verdict == "noisy":
            raise TimingInconclusive(result.message)
        if result.verdict != "passed":
            raise CheckFailure(result.message)


def collect(parent, exercise: Exercise, plugin):
    """The item factory registered with the plugin: one TimingItem per ``[[timing]]`` table."""
    for budget in parse_tables(exercise):
        yield TimingItem.from_parent(parent, name=budget.name, budget=budget, exercise=exercise, plugin=plugin)
