"""The pytest plugin that turns checks into scored results, one submission after another.

Per-check data (points, kind, hidden) comes from the ``check`` marker and the check's file name;
results accumulate in ``pytest_runtest_makereport`` into the :class:`Run` of the submission being
graded, which the runner reads afterwards. The ``submission`` fixture is a :class:`Proxy`: the only
way a check reaches student code.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import pytest
import torch

from grader.checks import PLUGIN_KEY, CheckFailure, MissingExercise, StudentError
from grader.course import reference
from grader.course.discover import Course, Exercise, is_hidden
from grader.grading.results import CheckResult
from grader.measure import memory, timing
from grader.errors import WorkerFailure
from grader.messages import Message, key_of, reason_of
from grader.sandbox.handle import WorkerHandle
from grader.sandbox.launcher import Sandbox
from grader.sandbox.staging import Staged

# Extra item factories (timing, memory): callables (parent_node, exercise, plugin) -> iterable of items.
ITEM_FACTORIES: list = [timing.collect, memory.collect]
KIND_RANK = {"correctness": 0, "timing": 1, "memory": 2}
POOLS = ("public", "hidden", "budget")


class Proxy:
    """The ``submission`` fixture: calls the student's functions inside the sandboxed worker.

    ``submission.sigmoid(x)`` sends ``x`` to the worker, runs the student's ``sigmoid`` there and
    returns the decoded result. Tensor arguments are compared after the call with what was sent:
    a function that modifies its inputs in place fails (use ``submission.mutating(...)`` where an
    exercise allows it). A function that once ran out of time is not called again in the same
    submission: later calls fail at once.

    Raises:
        StudentError: the function raised, used a forbidden operation or returned an unsendable value.
        WorkerFailure: the worker died, exited, hung or ran out of memory.
        MissingExercise: the submission has no usable file for this exercise.
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
        run = self._plugin.run
        key = (self._exercise.id, name)
        if key in run.timed_out:
            raise WorkerFailure("timeout", Message("check.timed_out_earlier",
                                                   {"function": name, "reason": run.timed_out[key]}))
        worker = self._plugin.worker(self._exercise, self._pool)
        timeout = self._plugin.call_timeout()
        started = time.monotonic()
        try:
            reply = worker.request({"op": "call", "func": name, "args": list(args), "kwargs": kwargs,
                                    "return_args": check_inputs}, timeout=timeout)
        except WorkerFailure as failure:
            if failure.kind == "timeout":
                run.timed_out[key] = _without_stop(failure)
            raise
        finally:
            run.note_call(time.monotonic() - started)
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
    if isinstance(a, (list, tuple, dict)) and type(b) is int:  # a container the worker held no tensor in
        return len(a) == b and not any(isinstance(v, torch.Tensor) for v in (a.values() if isinstance(a, dict) else a))
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


class Run:
    """One submission being graded: its staged files, its workers (one per pool) and its results."""

    def __init__(self, staged: Staged, serves: dict[str, Exercise], deadline: float):
        self.staged = staged
        self.serves = serves  # the exercises its workers may serve: those attempted and what they import
        self.deadline = deadline
        self.results: dict[str, list[CheckResult]] = {}
        self.workers: dict[str, WorkerHandle] = {}  # pool -> the worker serving it
        self.starting: dict[str, WorkerHandle] = {}  # pool -> a worker forked ahead, still building its sandbox
        self.ahead: set[str] = set()  # the pools whose workers are forked as soon as the public one is
        self.isolation: list[str] = []
        self.timed_out: dict[tuple[str, str], str] = {}  # (exercise, function) -> why
        self.import_failures: dict[str, str] = {}
        self.check: tuple[str, str, str] | None = None  # (exercise, check, kind) of the check in flight
        self.call_times: dict[tuple[str, str], float] = {}  # (exercise, check) -> its slowest call, seconds
        self.one_pool = False  # hidden checks in the public worker too: for verdicts nobody reads messages of

    def note_call(self, seconds: float) -> None:
        if self.check is not None:
            key = self.check[:2]
            self.call_times[key] = max(self.call_times.get(key, 0.0), seconds)


class GradePlugin:
    """Registered once in a grader's pytest session; holds the :class:`Run` of the submission in hand."""

    def __init__(self, course: Course, sandbox: Sandbox, settings):
        self.course = course
        self.sandbox = sandbox
        self.settings = settings
        self.run: Run | None = None
        self.collect_errors: dict[str, str] = {}
        self._reference: dict[str, dict[str, float]] = {}  # exercise -> check -> seconds

    # Workers ---------------------------------------------------------------------------------

    def remaining(self) -> float:
        remaining = self.run.deadline - time.monotonic()
        if remaining <= 0:
            raise WorkerFailure("timeout", Message("check.submission_time_used_up"))
        return remaining

    def call_timeout(self) -> float:
        """What the call about to be made may take: the check's limit, within the submission's time."""
        limit = min(self.settings.limits.call_seconds, self.remaining())
        check = self.run.check
        if check is not None and check[2] == "correctness":
            if check[0] not in self._reference:
                self._reference[check[0]] = reference.load(self.course.get(check[0]), self.settings.device)
            limit = reference.limit(self._reference[check[0]].get(check[1]), limit)
        return limit

    def import_timeout(self) -> float:
        return min(self.settings.limits.call_seconds, self.settings.limits.import_seconds, self.remaining())

    def worker(self, exercise: Exercise, pool: str = "budget") -> WorkerHandle:
        """The live worker of ``pool`` switched to ``exercise``, started (again) when needed.

        Public checks, hidden checks and budget checks each get their own worker: a submission that
        stores a hidden check's inputs cannot show them later in a public check's message. A pool's
        worker serves the submission's exercises in turn, each call under its own exercise's rules;
        it is replaced after any failure, and whenever an earlier exercise left the process changed.
        """
        run = self.run
        if exercise.id in run.import_failures:
            raise MissingExercise(run.import_failures[exercise.id])
        if exercise.id not in run.serves:
            raise MissingExercise(run.staged.problems.get(exercise.id) or run.staged.error
                                  or Message("check.no_file", {"exercise": exercise.id}))
        handle = run.workers.get(pool)
        if handle is not None and handle.dead is not None:
            self.sandbox.retire(run.workers.pop(pool))
            handle = None
        if handle is None:
            handle = self._start(pool)
        if handle.exercise != exercise.id:
            if not handle.switch(exercise.id, self.import_timeout()) and len(handle.loaded) > 1:
                self.sandbox.retire(run.workers.pop(pool))
                handle = self._start(pool)
                handle.switch(exercise.id, self.import_timeout())
        return handle

    def _start(self, pool: str) -> WorkerHandle:
        run = self.run
        self.remaining()
        handle = run.starting.pop(pool, None) or self._begin(pool)
        if pool == "public":
            for ahead in run.ahead - set(run.workers) - set(run.starting):
                # Forked now, it builds its sandbox on the other core while the public checks run:
                # by the first check of its pool it is waiting.
                try:
                    run.starting[ahead] = self._begin(ahead)
                except WorkerFailure:
                    pass  # started again, and reported, when a check of that pool needs it
        handle = self.sandbox.ready(handle)
        run.workers[pool] = handle
        if handle.layers and not run.isolation:
            run.isolation = list(handle.layers)
        return handle

    def _begin(self, pool: str) -> WorkerHandle:
        run = self.run
        # A correctness worker runs nothing of the grader's between calls but the codec: its guard
        # keeps the exercise's kernels registered from call to call (Guard.keep_kernels).
        extra = {"keep_kernels": True}
        if pool == "budget":
            baselines = sorted({b for e in run.serves.values()
                                for b in timing.worker_config(e, self.settings).get("timing", {}).get("baselines", ())})
            extra = {"timing": {"baselines": baselines}} if baselines else None
        return self.sandbox.begin(run.staged.root, {e.id: e.forbidden for e in run.serves.values()},
                                  extra=extra, baselines=pool == "budget")

    def probe(self, exercise: Exercise) -> "Message | str | None":
        """Import the exercise in its public worker; why it cannot be imported (keyed where the grader
        says it, the submission's own error as it is), or None."""
        try:
            handle = self.worker(exercise, "public")
        except WorkerFailure as failure:
            reason = Message("exercise.import_failed", {"exercise": exercise.id, "reason": reason_of(failure)})
        else:
            error = handle.loaded.get(exercise.id)
            if error is None:
                return None
            text = error.get("message", "")
            if error.get("kind") in ("forbidden", "tamper"):
                text = f"importing {exercise.id}/{exercise.id}.py: {text}"
            reason = text + (f" (at {error['where']})" if error.get("where") else "")
        self.run.import_failures[exercise.id] = reason
        return reason

    def finish(self) -> Run:
        """End the submission in hand: its workers are closed in the background."""
        run, self.run = self.run, None
        for handle in (*run.workers.values(), *run.starting.values()):
            self.sandbox.retire(handle)
        run.workers.clear()
        run.starting.clear()
        return run

    def correctness_passed(self, exercise_id: str) -> tuple[bool, int]:
        """Whether every correctness check of the exercise passed, and how many did not."""
        results = [r for r in self.run.results.get(exercise_id, []) if r.kind == "correctness"]
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

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        _, kind, _ = check_meta(item)
        self.run.check = (Path(item.path).parent.name, check_name(item), kind)
        if hasattr(item, "measured"):  # a budget item runs once per submission: nothing carries over
            item.measured = None
            item.uncounted = False

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            path = Path(str(report.fspath))
            text = str(report.longrepr).strip().splitlines()
            self.collect_errors[path.parent.name] = f"{path.name}: {text[-1] if text else 'collection failed'}"

    @pytest.fixture
    def submission(self, request: pytest.FixtureRequest) -> Proxy:
        pool = "hidden" if is_hidden(Path(request.node.path)) and not self.run.one_pool else "public"
        return Proxy(self, exercise_of(request.node, self.course), pool)

    @pytest.fixture
    def device(self) -> torch.device:
        return torch.device(self.settings.device)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self._record(item, call, report)
        if report.when == "teardown":
            self.run.check = None
        return report

    def _record(self, item: pytest.Item, call: pytest.CallInfo, report) -> None:
        points, kind, hidden = check_meta(item)
        exercise = exercise_of(item, self.course)
        status, message, key, args = "passed", "", None, None
        if report.skipped:
            status = "skipped"
            longrepr = report.longrepr
            message = str(longrepr[2]).removeprefix("Skipped: ") if isinstance(longrepr, tuple) else ""
            if call.excinfo is not None:
                key, args = key_of(call.excinfo.value)
        elif report.failed:
            status, message, key, args = classify(call.excinfo, hidden, report.when)
        measured = getattr(item, "measured", None)
        result = CheckResult(
            name=check_name(item), kind=kind, hidden=hidden, status=status,
            score=points if status == "passed" else 0.0, message=message, message_key=key, message_args=args,
            # A check skipped by request (--no-timing) is left out of the score, not lost.
            max_score=0.0 if status == "skipped" and getattr(item, "uncounted", False) else points,
            duration_s=round(call.duration, 4),
            timing=measured if kind == "timing" else None, memory=measured if kind == "memory" else None)
        self.run.results.setdefault(exercise.id, []).append(result)


def classify(excinfo, hidden: bool, when: str) -> tuple[str, str, str | None, dict | None]:
    """Status, message, and the message's key and fields for a failed check (no key: the message
    holds what the submission or the check's own assertion said). A hidden check's message never
    shows values."""
    status, message = _classify(excinfo, hidden, when)
    if isinstance(message, Message):
        return status, str(message), message.key, message.to_args()
    exc = excinfo.value if excinfo is not None else None
    key, args = key_of(exc) if exc is not None else (None, None)
    if key is not None and str(exc) != message:  # a hidden check shows a summary, not the keyed text
        key, args = None, None
    return status, message, key, args


def _classify(excinfo, hidden: bool, when: str) -> tuple[str, "Message | str"]:
    if excinfo is None:
        return "error", Message("check.no_exception")
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
            return "failed", Message("check.wrong_answer")
        text = str(exc).strip() or "assertion failed"
        return "failed", text.splitlines()[0][:500]
    if when == "setup":
        return "error", f"the check could not be set up: {type(exc).__name__}: {exc}"
    # The check could not use what came back (a tuple where a tensor was due, say).
    if hidden:
        return "failed", Message("check.result_unusable_hidden", {"type": type(exc).__name__})
    return "failed", f"the result could not be used: {type(exc).__name__}: {str(exc)[:300]}"


def _without_stop(failure: WorkerFailure) -> "Message | str":
    """A timeout's reason without the note that the worker was stopped (said once, at the first call)."""
    message = reason_of(failure)
    if isinstance(message, Message) and message.key == "worker.no_answer":
        return Message("worker.no_answer_short", message.args)
    return str(message).removesuffix(" (the worker was stopped)")
