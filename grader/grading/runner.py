"""Grade submissions: stage, run the checks in one pytest session each, return plain Reports."""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from grader import __version__
from grader.grading.config import Settings
from grader.course.discover import Course, Exercise
from grader.errors import GraderError
from grader.course.withheld import NOT_RUN, read_withheld
from grader.grading.results import CheckResult, ExerciseResult, Report
from grader.measure import WORKER_MODULES
from grader.sandbox.launcher import Sandbox
from grader.sandbox.staging import stage



class Grader:
    """Grades any number of submissions against one course with one sandbox (one zygote).

    The trusted process keeps its imports (torch, pytest, the checks' oracles) across submissions;
    each submission gets fresh workers forked from the zygote.
    """

    def __init__(self, course: Course, settings: Settings, extra_hidden: list[Path] = ()):
        self.course = course
        self.settings = settings
        self.exercises: tuple[Exercise, ...] = course.select(list(settings.exercises))
        self._staging = Path(tempfile.mkdtemp(prefix="grade-stage-"))
        hidden = [course.root, settings.submission, self._staging, *extra_hidden]
        self.sandbox = Sandbox(settings.limits, hidden=hidden, device=settings.device, extensions=WORKER_MODULES,
                               namespaces=settings.namespaces)
        # The zygote now imports torch in its own process; this one imports it (through pytest's
        # plugin and the checks) at the same time rather than after.
        import grader.grading.plugin  # noqa: F401

    def close(self) -> None:
        self.sandbox.close()
        shutil.rmtree(self._staging, ignore_errors=True)

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def grade(self, submission: Path, name: str | None = None, only: list[str] | None = None) -> Report:
        """Grade one submission (a folder or a .zip); never raises for anything the submission does.

        ``only`` narrows this one run to some of the grader's exercises.
        """
        started = datetime.now(timezone.utc)
        self.sandbox.wait_ready()  # the zygote's torch import is not the submission's time
        t0 = time.monotonic()
        exercises = self.exercises if not only else tuple(e for e in self.exercises if e.id in set(only))
        ids = [e.id for e in exercises]
        dest = Path(tempfile.mkdtemp(prefix="s-", dir=self._staging))
        try:
            staged = stage(submission, self._with_dependencies(ids), dest)
            from grader.grading.plugin import GradePlugin

            plugin = GradePlugin(self.course, staged, self.sandbox, self.settings,
                                 deadline=t0 + self.settings.limits.submission_seconds)
            try:
                self._run_pytest(plugin, exercises)
            finally:
                plugin.close()
            results = tuple(self._exercise_result(e, plugin) for e in exercises)
        finally:
            shutil.rmtree(dest, ignore_errors=True)
        return Report(
            submission=name or str(submission), device=self.settings.device, grader_version=__version__,
            score=round(sum(e.score for e in results), 4), max_score=round(sum(e.max_score for e in results), 4),
            started_at=started.isoformat(timespec="seconds"), duration_s=round(time.monotonic() - t0, 3),
            exercises=results, isolation=tuple(plugin.isolation))

    def _run_pytest(self, plugin, exercises: tuple[Exercise, ...]) -> None:
        import pytest

        paths: list[str] = []
        for e in exercises:
            paths += [str(p) for p in e.public_checks + e.hidden_checks]
            if e.timing or e.memory:
                paths.append(str(e.toml))
        if not paths:
            return
        from grader.grading.inventory import run_session

        code, output = run_session(self.course.root, paths, plugin)
        if code == pytest.ExitCode.INTERRUPTED:
            raise KeyboardInterrupt
        if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            raise GraderError(f"the checks could not run (pytest exit {int(code)}): {output[-2000:]}")

    def _with_dependencies(self, ids: list[str]) -> list[str]:
        """``ids`` and, transitively, the exercises they import (``depends``): staged with them."""
        todo = list(ids)
        for exercise_id in todo:  # the list grows while it is walked
            todo += [d for d in self.course.get(exercise_id).depends if d not in todo]
        return todo

    def _exercise_result(self, exercise: Exercise, plugin) -> ExerciseResult:
        checks: tuple[CheckResult, ...] = tuple(plugin.results.get(exercise.id, ()))
        if self.settings.release:  # a student release: the checks it lacks are named in hidden.toml
            checks += not_run_results(exercise, {c.name for c in checks})
        error = None
        if exercise.id in plugin.collect_errors:
            error = f"the course's checks are broken: {plugin.collect_errors[exercise.id]}"
        elif exercise.id in plugin.staged.problems:
            error = plugin.staged.problems[exercise.id]
        elif exercise.id not in plugin.staged.found:
            error = plugin.staged.error or f"the submission has no {exercise.id}/{exercise.id}.py"
        return ExerciseResult(
            id=exercise.id, title=exercise.title, score=round(sum(c.score for c in checks), 4),
            max_score=round(sum(c.max_score for c in checks), 4), error=error, checks=checks)


def not_run_results(exercise: Exercise, already: set[str] = frozenset()) -> tuple[CheckResult, ...]:
    """The checks a release left out (its ``hidden.toml``), as skipped results worth their points."""
    return tuple(CheckResult(name=w.name, kind=w.kind, hidden=w.hidden, status="skipped", score=0.0,
                             max_score=w.points, message=NOT_RUN)
                 for w in read_withheld(exercise) if w.name not in already)
