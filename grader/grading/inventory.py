"""The checks a course declares, found by pytest collection alone: nothing is run, no worker starts.

Used where the checks must be known without grading: a release writes the names and points of its
hidden checks into a manifest, and the self-check proves every check carries points.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.course.discover import Course, Exercise
from grader.errors import GraderError

INI = Path(__file__).with_name("pytest-grade.ini")


def run_session(root: Path, args: list[str], plugin) -> tuple[int, str]:
    """One quiet pytest session over a course's checks with the grader's options: (exit code, output).

    Installed plugins stay out (no reordering, no extra output), and so does the unraisable-exception
    plugin, whose gc.collect() at each session's end costs seconds with torch loaded.
    """
    base = ["-c", str(INI), "--rootdir", str(root / "exercises"), "--import-mode=importlib",
            "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:stepwise", "-p", "no:unraisableexception"]
    old = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink):
            code = pytest.main(base + args, plugins=[plugin])
    finally:
        if old is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = old
    return code, sink.getvalue()


@dataclass(frozen=True)
class CheckInfo:
    """One collected check: how it is reported (``name``), what it is worth and whether it is marked."""

    exercise: str
    name: str
    kind: str
    hidden: bool
    points: float
    marked: bool  # carries ``@check(points=...)``; an unmarked test would be worth a silent 1 point
    file: str


@dataclass(frozen=True)
class Inventory:
    checks: dict  # exercise id -> tuple[CheckInfo, ...] in file order
    errors: dict  # exercise id -> why a check file could not be collected


class _Collector:
    def __init__(self, course: Course):
        self.course = course
        self.items: list[pytest.Item] = []
        self.errors: dict[str, str] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "check(points=1, kind='correctness'): a scored check")
        config.addinivalue_line("markers", "cuda: needs a CUDA device")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.items = list(items)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            path = Path(str(report.fspath))
            text = str(report.longrepr).strip().splitlines()
            self.errors[path.parent.name] = f"{path.name}: {text[-1] if text else 'collection failed'}"


def forget_check_modules(exercises: tuple[Exercise, ...]) -> None:
    """Drop check modules imported earlier in this process under the same names (``<id>.test_public``).

    pytest's importlib mode reuses a module already in ``sys.modules`` by name, so the checks of
    another course with the same exercise ids, or of an older version of these files, would run
    instead of the files on disk.
    """
    ids = {e.id for e in exercises}
    for name in [n for n in sys.modules if n.split(".")[0] in ids]:
        module = sys.modules[name]
        file = getattr(module, "__file__", None)
        if file is None or Path(file).parent.parent.name == "exercises":
            del sys.modules[name]


def collect(course: Course, exercises: tuple[Exercise, ...], hidden_only: bool = False) -> Inventory:
    """Collect the test files of ``exercises`` (only ``test_hidden*.py`` when ``hidden_only``)."""
    from grader.grading.plugin import check_meta, check_name

    forget_check_modules(exercises)
    paths = [p for e in exercises for p in (e.hidden_checks if hidden_only else e.public_checks + e.hidden_checks)]
    checks: dict[str, list[CheckInfo]] = {e.id: [] for e in exercises}
    if not paths:
        return Inventory({k: () for k in checks}, {})
    collector = _Collector(course)
    code, output = run_session(course.root, ["--collect-only", *map(str, paths)], collector)
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        raise GraderError(f"the checks could not be collected (pytest exit {int(code)}): {output[-2000:]}")
    for item in collector.items:
        exercise = Path(item.path).parent.name
        if exercise not in checks:
            continue
        points, kind, hidden = check_meta(item)
        checks[exercise].append(CheckInfo(
            exercise=exercise, name=check_name(item), kind=kind, hidden=hidden, points=points,
            marked=item.get_closest_marker("check") is not None, file=Path(item.path).name))
    return Inventory({k: tuple(v) for k, v in checks.items()}, dict(collector.errors))
