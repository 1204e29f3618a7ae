"""Grade submissions: stage, judge what was attempted in one long-lived pytest session, return Reports.

A notebook (``.ipynb``) is first exported into a submission folder (``course/notebook.py``: its
marked cells, read and never run), and that folder is staged like any other. Per submission: every
selected exercise whose file is missing or is still the stub is *not
attempted* (0 points, nothing runs); every other exercise is imported once in its public worker —
an import that fails is one failed result with the reason — and its checks run. Points: an
exercise's correctness checks share its ``weight`` in proportion to their own points; its budget
checks (timing, memory) keep theirs.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from grader import __version__
from grader.course.attempt import attempted, course_stub_digest
from grader.course.discover import Course, Exercise
from grader.course.notebook import export_for_grading, is_notebook
from grader.course.withheld import NOT_RUN, read_withheld
from grader.grading.config import Settings
from grader.grading.results import NOT_ATTEMPTED_KEY, CheckResult, ExerciseResult, Report
from grader.measure import WORKER_MODULES
from grader.messages import Message
from grader.sandbox.launcher import Sandbox
from grader.sandbox.staging import Staged, stage

NOT_ATTEMPTED = "not attempted"


class Grader:
    """Grades any number of submissions against one course with one sandbox (one zygote).

    The trusted process keeps its imports (torch, pytest, the collected checks and their oracles)
    across submissions; each submission gets fresh workers forked from the zygote. Nothing is
    started until a submission attempts an exercise (``start`` starts it at once). ``many`` says that
    submission after submission will come (a batch, selfcheck): the zygote then spends its idle time
    on imports that the workers of later submissions would otherwise each pay for.
    """

    def __init__(self, course: Course, settings: Settings, extra_hidden: list[Path] = (), start: bool = False,
                 many: bool = False):
        self.course = course
        self.settings = settings
        self.exercises: tuple[Exercise, ...] = course.select(list(settings.exercises))
        self._staging = Path(tempfile.mkdtemp(prefix="grade-stage-"))
        self._hidden = [course.root, settings.submission, self._staging, *extra_hidden]
        self._stubs = {e.id: course_stub_digest(e) for e in course.exercises}
        self._sandbox: Sandbox | None = None
        self._plugin = None
        self._session = None
        self.call_times: dict[tuple[str, str], float] = {}  # the last submission's slowest call per check
        self._many = many  # submission after submission (a batch, selfcheck): worth warming the zygote for
        if start:
            self.start()

    # Life ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the zygote, then import torch, pytest and the plugin here while it imports torch there."""
        if self._session is not None:
            return
        if self._sandbox is None:
            self._sandbox = Sandbox(self.settings.limits, hidden=self._hidden, device=self.settings.device,
                                    extensions=WORKER_MODULES, namespaces=self.settings.namespaces,
                                    idle_imports=self._many)
        with long_lived():
            from grader.grading.plugin import GradePlugin
            from grader.grading.session import CheckSession

            self._plugin = GradePlugin(self.course, self._sandbox, self.settings)
            self._session = CheckSession(self.course, self._plugin)

    @property
    def sandbox(self) -> Sandbox:
        self.start()
        return self._sandbox

    def close(self) -> None:
        try:
            if self._session is not None:
                self._session.close()
        finally:
            if self._sandbox is not None:
                self._sandbox.close()
            shutil.rmtree(self._staging, ignore_errors=True)

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Grading ---------------------------------------------------------------------------------------

    def grade(self, submission: Path, name: str | None = None, only: list[str] | None = None,
              attempt_all: bool = False, settle: bool = True, quick: bool = False) -> Report:
        """Grade one submission (a folder, a .zip or a notebook); never raises for anything the submission does.

        ``only`` narrows this one run to some of the grader's exercises; ``attempt_all`` grades an
        untouched stub as if it were an attempt (to prove that stubs earn nothing). With ``settle``
        every worker of the submission is gone when this returns; a batch lets them close while the
        next student is graded. ``quick`` runs the correctness checks alone and stops an exercise at
        its first failed check (a verdict of right or wrong, for mutants: not a score to report).
        """
        started = datetime.now(timezone.utc)
        t0 = time.monotonic()
        exercises = self.exercises if not only else tuple(e for e in self.exercises if e.id in set(only))
        dest = Path(tempfile.mkdtemp(prefix="s-", dir=self._staging))
        isolation: list[str] = []
        self.call_times = {}
        try:
            staged = self._stage(submission, self._with_dependencies([e.id for e in exercises]), dest)
            todo = [e for e in exercises if self._state(e, staged, attempt_all) is None]
            checks: dict[str, list[CheckResult]] = {}
            failures: dict[str, str] = {}
            if todo:
                self.start()
                self._sandbox.wait_ready()  # the zygote's torch import is not the submission's time
                t0 = time.monotonic()
                checks, failures, isolation = self._run(staged, todo, t0, quick)
                if settle:
                    self._sandbox.settle()
            results = tuple(self._result(e, staged, attempt_all, checks, failures) for e in exercises)
        finally:
            shutil.rmtree(dest, ignore_errors=True)
            shutil.rmtree(_export_folder(dest), ignore_errors=True)
        return Report(
            submission=name or str(submission), device=self.settings.device, grader_version=__version__,
            score=round(sum(e.score for e in results), 4), max_score=round(sum(e.max_score for e in results), 4),
            started_at=started.isoformat(timespec="seconds"), duration_s=round(time.monotonic() - t0, 3),
            exercises=results, isolation=tuple(isolation))

    def _stage(self, submission: Path, ids: list[str], dest: Path) -> Staged:
        """Stage a folder or a zip; a notebook is exported beside ``dest`` first, and what kept an
        exercise out of the export (a magic in its cell, two answers) is recorded against it."""
        if not is_notebook(submission):
            return stage(submission, ids, dest)
        exported = export_for_grading(submission, self.course, ids, _export_folder(dest))
        if exported.error:
            dest.mkdir(parents=True, exist_ok=True)
            return Staged(dest, (), {}, exported.error)
        staged = stage(exported.root, ids, dest)
        problems = {**exported.problems, **staged.problems}
        return replace(staged, found=tuple(i for i in staged.found if i not in problems), problems=problems)

    def _state(self, exercise: Exercise, staged: Staged, attempt_all: bool) -> str | None:
        """None when the exercise is to be graded; otherwise why not (an error, or NOT_ATTEMPTED)."""
        if exercise.id in staged.problems:
            return staged.problems[exercise.id]
        if exercise.id not in staged.found:
            return staged.error or NOT_ATTEMPTED
        if not attempt_all and not attempted(staged.root, exercise, self._stubs.get(exercise.id)):
            return NOT_ATTEMPTED
        return None

    def _run(self, staged: Staged, todo: list[Exercise], t0: float, quick: bool = False):
        from grader.grading.plugin import Run, check_meta

        plugin, session = self._plugin, self._session
        session.collect(tuple(todo), extra_files=lambda e: (e.toml,) if e.timing or e.memory else ())
        serves = {i: self.course.get(i) for i in self._with_dependencies([e.id for e in todo])
                  if i in staged.found and i not in staged.problems}
        plugin.run = Run(staged, serves, deadline=t0 + self.settings.limits.submission_seconds)
        plugin.run.one_pool = quick  # a mutant of the reference answer: only its verdict is read
        if not quick and any(check_meta(item)[2] for e in todo for item in session.items.get(e.id, ())):
            plugin.run.ahead = {"hidden"}  # hidden checks will run: their worker is forked with the public one
        failures: dict[str, str] = {}
        try:
            for e in todo:
                if e.id in plugin.collect_errors:
                    failures[e.id] = Message("exercise.checks_broken", {"detail": plugin.collect_errors[e.id]})
                    continue
                reason = plugin.probe(e)
                if reason is not None:
                    failures[e.id] = reason
                    continue
                items = _in_order(session.items[e.id])
                if not quick:
                    session.run(items)
                    continue
                failed = lambda e=e: any(r.status != "passed" for r in plugin.run.results.get(e.id, ()))  # noqa: E731
                session.run([item for item in items if check_meta(item)[1] == "correctness"], stop=failed)
        finally:
            run = plugin.finish()
        self.call_times = dict(run.call_times)
        return run.results, failures, run.isolation

    def _with_dependencies(self, ids: list[str]) -> list[str]:
        """``ids`` and, transitively, the exercises they import (``depends``): staged with them."""
        todo = list(ids)
        for exercise_id in todo:  # the list grows while it is walked
            todo += [d for d in self.course.get(exercise_id).depends if d not in todo]
        return todo

    # Results ---------------------------------------------------------------------------------------

    def _result(self, exercise: Exercise, staged: Staged, attempt_all: bool, checks: dict, failures: dict
                ) -> ExerciseResult:
        why = self._state(exercise, staged, attempt_all)
        ran = tuple(checks.get(exercise.id, ()))
        if self.settings.release:  # a student release: the checks it lacks are named in hidden.toml
            ran += not_run_results(exercise, {c.name for c in ran}, self.settings.timing)
        if why is None and exercise.id not in failures:
            ran = self._weighted(exercise, ran)
            return ExerciseResult(id=exercise.id, title=exercise.title, score=round(sum(c.score for c in ran), 4),
                                  max_score=round(sum(c.max_score for c in ran), 4), error=None, checks=ran,
                                  track=exercise.track)
        error = None if why == NOT_ATTEMPTED else (why or failures.get(exercise.id))
        key, args = (NOT_ATTEMPTED_KEY, {}) if why == NOT_ATTEMPTED else \
            (error.key, error.to_args()) if isinstance(error, Message) else (None, None)
        return ExerciseResult(id=exercise.id, title=exercise.title, score=0.0, max_score=self._max_score(exercise),
                              error=None if error is None else str(error), checks=(), track=exercise.track,
                              attempted=why != NOT_ATTEMPTED, message_key=key, message_args=args)

    def _weighted(self, exercise: Exercise, checks: tuple[CheckResult, ...]) -> tuple[CheckResult, ...]:
        """Correctness points scaled so that together they are worth exactly the exercise's weight."""
        if exercise.weight is None:
            return checks
        raw = [c.max_score if c.kind == "correctness" else 0.0 for c in checks]
        if sum(raw) <= 0:
            return checks
        points = [round(r * exercise.weight / sum(raw), 4) for r in raw]
        largest = max(range(len(points)), key=lambda i: points[i])
        points[largest] = round(points[largest] + exercise.weight - sum(points), 4)  # rounding goes to one check
        return tuple(c if c.kind != "correctness" else
                     replace(c, max_score=p, score=p if c.score > 0 else 0.0) for c, p in zip(checks, points))

    def _max_score(self, exercise: Exercise) -> float:
        """What the exercise is worth, known without running anything when it has a weight."""
        device = self.settings.device.split(":")[0]
        budgets = sum(float(t.get("points", 1)) for t in exercise.memory if isinstance(t, dict) and device in t)
        if self.settings.timing:
            budgets += sum(float(t.get("points", 1)) for t in exercise.timing if isinstance(t, dict) and device in t)
            budgets += sum(w.points for w in read_withheld(exercise) if w.kind == "timing")
        if exercise.weight is not None:
            return round(exercise.weight + budgets, 4)
        from grader.grading.plugin import check_meta  # an exercise without a weight: count its checks

        self.start()
        self._session.collect((exercise,))
        correctness = sum(check_meta(item)[0] for item in self._session.items[exercise.id]
                          if check_meta(item)[1] == "correctness")
        correctness += sum(w.points for w in read_withheld(exercise) if w.kind == "correctness")
        return round(correctness + budgets, 4)


@contextmanager
def long_lived():
    """Make objects that live as long as the process (torch, pytest, the collected checks) without
    the cyclic garbage collector: it does not run while they are made, and never walks them after
    (``gc.freeze``). Importing torch alone sets off several full collections of everything it has
    made so far; in one ``grade`` they took about a third of the trusted process's time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _in_order(items: list) -> list:
    """An exercise's checks as they run: correctness (public, then hidden), then timing, then memory."""
    from grader.grading.plugin import KIND_RANK, check_meta

    def key(pair):
        index, item = pair
        _, kind, hidden = check_meta(item)
        return KIND_RANK.get(kind, 9), hidden, index

    return [item for _, item in sorted(enumerate(items), key=key)]


def _export_folder(dest: Path) -> Path:
    """Where a notebook submission is exported before ``dest`` is staged from it (both hidden from workers)."""
    return dest.with_name(dest.name + ".notebook")


def not_run_results(exercise: Exercise, already: set[str] = frozenset(), timing: bool = True
                    ) -> tuple[CheckResult, ...]:
    """The checks a release left out (its ``hidden.toml``), as skipped results worth their points
    (a withheld timing check is worth nothing with timing off, as a timing check that ran would be)."""
    return tuple(CheckResult(name=w.name, kind=w.kind, hidden=w.hidden, status="skipped", score=0.0,
                             max_score=w.points if timing or w.kind != "timing" else 0.0, message=str(NOT_RUN),
                             message_key=NOT_RUN.key, message_args={})
                 for w in read_withheld(exercise) if w.name not in already)
