"""The checks a course declares, found by pytest collection alone: nothing is run, no worker starts.

Used where the checks must be known without grading: a release writes the names and points of its
hidden checks into a manifest, and the self-check proves every check carries points.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.course.discover import Course, Exercise


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
    """The plugin of a collect-only session: the markers checks use, and the files that fail to import."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "check(points=1, kind='correctness'): a scored check")
        config.addinivalue_line("markers", "cuda: needs a CUDA device")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            path = Path(str(report.fspath))
            text = str(report.longrepr).strip().splitlines()
            self.errors[path.parent.name] = f"{path.name}: {text[-1] if text else 'collection failed'}"


def collect(course: Course, exercises: tuple[Exercise, ...], hidden_only: bool = False) -> Inventory:
    """Collect the test files of ``exercises`` (only ``test_hidden*.py`` when ``hidden_only``)."""
    from grader.grading.plugin import check_meta, check_name
    from grader.grading.session import CheckSession

    collector = _Collector()
    session = CheckSession(course, collector)
    try:
        session.collect(exercises, hidden_only=hidden_only)
        checks = {e.id: tuple(CheckInfo(exercise=e.id, name=check_name(item), kind=check_meta(item)[1],
                                        hidden=check_meta(item)[2], points=check_meta(item)[0],
                                        marked=item.get_closest_marker("check") is not None,
                                        file=Path(item.path).name)
                              for item in session.items.get(e.id, ())) for e in exercises}
    finally:
        session.close()
    return Inventory(checks, dict(collector.errors))
