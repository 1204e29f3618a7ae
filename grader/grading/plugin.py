"""The pytest plugin that turns checks into scored results for one staged submission.

Per-check data (points, kind, hidden) comes from the ``check`` marker and the check's file name;
results accumulate in ``pytest_runtest_makereport`` and are read by the runner afterwards. The
``submission`` fixture is a :class:`Proxy`: the only way a check reaches student code.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest
import torch

from grader.measure import memory, timing
from grader.checks import CheckFailure, StudentError
from grader.course.discover import Course, Exercise, is_hidden
from grader.grading.results import CheckResult
from grader.sandbox.handle import WorkerFailure, WorkerHandle
from grader.sandbox.launcher import Sandbox
from grader.sandbox.staging import Staged

# Extra item factories (timing, memory): callables (parent_node, exercise, plugin) -> iterable of items.
ITEM_FACTORIES: list = []
ITEM_FACTORIES.append(timing.collect)
ITEM_FACTORIES.append(memory.collect)
KIND_RANK = {"correctness": 0, "timing": 1, "memory": 2}


class MissingExercise(Exception):
    """The submission has no usable ``<id>/<id>.py`` for the exercise."""


class Proxy:
    """The ``submission`` fixture: calls the student's functions inside the sandboxed worker.

    ``submission.sigmoid(x)`` sends ``x`` to the worker, runs the student's ``sigmoid`` there and
    returns the decoded result. Tensor arguments are compared after the call with what was sent:
    a function that modifies its inputs in place fails (use ``submission.mutating(...)`` where an
    exercise allows it).

    Raises:
        StudentError: the function raised, used a forbidden operation or returned an unsendable value.
        WorkerFailure: the worker died, exited, hung or ran out of memory.
        MissingExercise: the submission has no file for this exercise.
    """

    def __init__(self, plugin: "GradePlugin", exercise: Exercise, pool: str = "public"):
        self._plugin = plugin
        self._exercise = exercise
        self._pool = pool

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return functools.partial(self.call, name)

    def call(self, name: str, *args, **kwargs):
        return self._call(name, args, kwargs, check_inputs=True)

    def mutating(self, name: str, *args, **kwargs):
        return self._call(name, args, kwargs, check_inputs=False)

    def _call(self, name: str, args: tuple, kwargs: dict, check_inputs: bool):
        worker = self._plugin.worker(self._exercise, self._pool)
        reply = worker.request({"op": "call", "func": name, "args": list(args), "kwargs": kwargs,
                                "return_args": check_inputs}, timeout=self._plugin.call_timeout())
        if not reply["ok"]:
            raise StudentError(name, reply.get("error") if isinstance(reply.get("error"), dict) else {})
        if check_inputs:
            after = reply.get("args")
            if not isinstance(after, list) or len(after) != len(args):
                raise CheckFailure(f"{name} could not be checked for modified inputs")
            for i, (before, now) in enumerate(zip(args, after)):
                if not _same(before, now):
                    raise CheckFailure(f"{name} modified its input argument {i} in place",
                                       "inputs must be left unchanged; work on new tensors")
        return reply["value"]

    def of(self, exercise_id: str) -> "Proxy":
        """A proxy for another exercise of the same submission (to judge a dependency on its own)."""
        return Proxy(self._plugin, self._plugin.course.get(exercise_id), self._pool)

    def request(self, message: dict, timeout: float | None = None) -> dict:
        """Send a raw request (timing, memory) to this exercise's worker."""
        worker = self._plugin.worker(self._exercise, self._pool)
        return worker.request(message, timeout=timeout or self._plugin.call_timeout())


def _same(a: object, b: object) -> bool:
    if isinstance(a, torch.Tensor):
        if type(b) is not torch.Tensor or a.shape != b.shape or a.dtype != b.dtype:
            return False
        a, b = a.detach().cpu(), b.detach().cpu()
        if a.is_floating_point() or a.is_complex():
            return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())
        return torch.equal(a, b)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return True


def check_meta(item: pytest.Item) -> tuple[float, str, bool]:
    """Points, kind and visibility of one collected check."""
    marker = item.get_closest_marker("check")
    points = float(marker.kwargs.get("points", 1.0)) if marker else float(getattr(item, "points", 1.0))
    kind = str(marker.kwargs.get("kind", "correctness")) if marker else str(getattr(item, "kind", "correctness"))
    return points, kind, is_hidden(Path(item.path))


def exercise_of(item: pytest.Item, course: Course) -> Exercise:
    return course.get(Path(item.path).parent.name)


def check_name(item: pytest.Item) -> str:
    return item.name.removeprefix("test_")


class ExerciseFile(pytest.File):
    """``exercise.toml`` collected as the home of the exercise's timing and memory checks."""

    def collect(self):
        plugin: GradePlugin = self.config.stash[PLUGIN_KEY]
        exercise = plugin.course.get(self.path.parent.name)
        for factory in ITEM_FACTORIES:
            yield from factory(self, exercise, plugin)


PLUGIN_KEY = pytest.StashKey["GradePlugin"]()


class GradePlugin:
    """Holds one submission's workers and collects its check results."""

    def __init__(self, course: Course, staged: Staged, sandbox: Sandbox, settings, deadline: float):
        self.course = course
        self.staged = staged
        self.sandbox = sandbox
        self.settings = settings
        self.deadline = deadline
        self.results: dict[str, list[CheckResult]] = {}
        self.workers: dict[tuple[str, str], WorkerHandle] = {}
        self.isolation: list[str] = []
        self.collect_errors: dict[str, str] = {}

    # Workers ---------------------------------------------------------------------------------

    def call_timeout(self) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise WorkerFailure("timeout", "the submission's time limit was used up")
        return min(self.settings.limits.call_seconds, remaining)

    def worker(self, exercise: Exercise, pool: str = "budget") -> WorkerHandle:
        """The live worker of ``exercise`` for one pool of checks, started (again) when needed.

        Public checks, hidden checks and budget checks each get their own worker: a submission that
        stores a hidden check's inputs cannot show them later in a public check's message.
        """
        if exercise.id in self.staged.problems:
            raise MissingExercise(self.staged.problems[exercise.id])
        if exercise.id not in self.staged.found:
            raise MissingExercise(self.staged.error or f"the submission has no {exercise.id}/{exercise.id}.py")
        handle = self.workers.get((exercise.id, pool))
        if handle is not None and handle.dead is None:
            return handle
        if handle is not None:
            handle.close()
        self.call_timeout()
        handle = self.sandbox.start(self.staged.root, exercise.id, exercise.forbidden,
                                    extra=timing.worker_config(exercise, self.settings) if pool == "budget" else None,
                                    baselines=pool == "budget")
        self.workers[(exercise.id, pool)] = handle
        if handle.layers and not self.isolation:
            self.isolation = list(handle.layers)
        return handle

    def close(self) -> None:
        for handle in self.workers.values():
            handle.close()
        self.workers.clear()

    def correctness_passed(self, exercise_id: str) -> tuple[bool, int]:
        """Whether every correctness check of the exercise passed, and how many did not."""
        results = [r for r in self.results.get(exercise_id, []) if r.kind == "correctness"]
        failed = sum(1 for r in results if r.status != "passed")
        return (bool(results) and failed == 0), failed

    # Hooks -----------------------------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[PLUGIN_KEY] = self
        config.addinivalue_line("markers", "check(points=1, kind='correctness'): a scored check")
        config.addinivalue_line("markers", "cuda: needs a CUDA device")

    def pytest_collect_file(self, file_path: Path, parent):
        if file_path.name == "exercise.toml":
            return ExerciseFile.from_parent(parent, path=file_path)
        return None

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        order = {e.id: i for i, e in enumerate(self.course.exercises)}

        def key(pair):
            index, item = pair
            _, kind, hidden = check_meta(item)
            return order.get(Path(item.path).parent.name, 1 << 30), KIND_RANK.get(kind, 9), hidden, index

        items[:] = [item for _, item in sorted(enumerate(items), key=key)]

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            path = Path(str(report.fspath))
            text = str(report.longrepr).strip().splitlines()
            self.collect_errors[path.parent.name] = f"{path.name}: {text[-1] if text else 'collection failed'}"

    @pytest.fixture
    def submission(self, request: pytest.FixtureRequest) -> Proxy:
        return Proxy(self, exercise_of(request.node, self.course),
                     "hidden" if is_hidden(Path(request.node.path)) else "public")

    @pytest.fixture
    def device(self) -> torch.device:
        return torch.device(self.settings.device)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self._record(item, call, report)
        return report

    def _record(self, item: pytest.Item, call: pytest.CallInfo, report) -> None:
        points, kind, hidden = check_meta(item)
        exercise = exercise_of(item, self.course)
        status, message = "passed", ""
        if report.skipped:
            status = "skipped"
            longrepr = report.longrepr
            message = str(longrepr[2]).removeprefix("Skipped: ") if isinstance(longrepr, tuple) else ""
        elif report.failed:
            status, message = classify(call.excinfo, hidden, report.when)
        measured = getattr(item, "measured", None)
        result = CheckResult(
            name=check_name(item), kind=kind, hidden=hidden, status=status,
            score=points if status == "passed" else 0.0, message=message,
            # A check skipped by request (--no-timing) is left out of the score, not lost.
            max_score=0.0 if status == "skipped" and getattr(item, "uncounted", False) else points,
            duration_s=round(call.duration, 4),
            timing=measured if kind == "timing" else None, memory=measured if kind == "memory" else None)
        self.results.setdefault(exercise.id, []).append(result)


def classify(excinfo, hidden: bool, when: str) -> tuple[str, str]:
    """Status and message for a failed check; a hidden check's message never shows values."""
    if excinfo is None:
        return "error", "the check failed without an exception"
    exc = excinfo.value
    if getattr(exc, "grade_status", None) == "error":  # the grader could not judge (e.g. noisy timing)
        return "error", str(exc)
    if isinstance(exc, WorkerFailure):
        return ("timeout" if exc.kind == "timeout" else "failed"), str(exc)
    if isinstance(exc, MissingExercise):
        return "failed", str(exc)
    if isinstance(exc, StudentError):
        return "failed", exc.hidden_message() if hidden else exc.public_message()
    if isinstance(exc, CheckFailure):
        return "failed", exc.summary if hidden else str(exc)
    if isinstance(exc, AssertionError):
        if hidden:
            return "failed", "wrong answer"
        text = str(exc).strip() or "assertion failed"
        return "failed", text.splitlines()[0][:500]
    if when == "setup":
        return "error", f"the check could not be set up: {type(exc).__name__}: {exc}"
    # The check could not use what came back (a tuple where a tensor was due, say).
    if hidden:
        return "failed", f"the result could not be used ({type(exc).__name__})"
    return "failed", f"the result could not be used: {type(exc).__name__}: {str(exc)[:300]}"
