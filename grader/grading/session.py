"""One pytest session kept for the life of a grader: checks are collected once, run per submission.

``pytest.main`` would configure pytest, import and collect every check file and tear it all down
again for each submission. A :class:`CheckSession` configures pytest once, collects an exercise's
check files the first time that exercise is graded, and runs the collected items again for every
submission through pytest's own ``pytest_runtest_protocol`` (setup, call, teardown and the report
hooks). The last item of each run tears every fixture down, so no state outlives a submission but the
imported check modules. This drives pytest's documented hooks with three of its internal entry
points (``_prepareconfig``, ``Config._do_configure`` and ``Config._ensure_unconfigure``), the
ones its own ``wrap_session`` and pytester use.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import pytest
from _pytest.config import _prepareconfig
from _pytest.main import Session

from grader.course.discover import Course, Exercise
from grader.errors import GraderError

INI = Path(__file__).with_name("pytest-grade.ini")
# Installed plugins stay out (no reordering, no extra output), and so do the ones that would capture
# or print around every check, and the unraisable-exception plugin, whose gc.collect() at each
# session's end costs seconds with torch loaded.
OPTIONS = ("--import-mode=importlib", "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:stepwise",
           "-p", "no:unraisableexception", "-p", "no:capture", "-p", "no:logging", "-p", "no:faulthandler",
           "-p", "no:pastebin", "-p", "no:junitxml")


@contextlib.contextmanager
def _quiet():
    """Stdout of checks and of pytest goes nowhere; installed plugins are not loaded."""
    old = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        if old is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = old


def forget_check_modules(exercises) -> None:
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


class CheckSession:
    """A configured pytest session over a course's checks, with ``plugin`` registered."""

    def __init__(self, course: Course, plugin, extra_args: tuple[str, ...] = ()):
        self.course = course
        self.items: dict[str, list[pytest.Item]] = {}  # exercise id -> its collected items, in file order
        args = ["-c", str(INI), "--rootdir", str(course.root / "exercises"), *OPTIONS, *extra_args]
        with _quiet():
            try:
                self.config = _prepareconfig(args, plugins=[plugin])
                # Failure reports are read for their exception, never printed: the plain traceback is
                # enough, and much cheaper than pytest's own, which parses the source of every frame.
                self.config.option.tbstyle = "native"
                self.config._do_configure()
                self.session = Session.from_config(self.config)
                self.config.hook.pytest_sessionstart(session=self.session)
            except pytest.UsageError as exc:
                raise GraderError(f"the checks could not be set up: {exc}") from None

    def collect(self, exercises: tuple[Exercise, ...], extra_files=lambda e: (), hidden_only: bool = False) -> None:
        """Collect the check files of ``exercises`` not collected yet (``extra_files``: more per exercise)."""
        todo = [e for e in exercises if e.id not in self.items]
        if not todo:
            return
        forget_check_modules(todo)
        paths = [str(p) for e in todo
                 for p in (*(() if hidden_only else e.public_checks), *e.hidden_checks, *extra_files(e))]
        for e in todo:
            self.items[e.id] = []
        if not paths:
            return
        with _quiet():
            try:
                collected = self.session.perform_collect(paths)
            except pytest.UsageError as exc:
                raise GraderError(f"the checks could not be collected: {exc}") from None
        for item in collected:
            exercise = Path(item.path).parent.name
            if exercise in self.items:
                self.items[exercise].append(item)

    def run(self, items: list[pytest.Item], stop=None) -> None:
        """Run ``items`` in order, each through pytest's own protocol; fixtures end with the last.

        ``stop()``, asked after each item, ends the run early (every fixture is torn down then too).
        """
        with _quiet():  # a KeyboardInterrupt (a check's or the user's) comes through as itself
            for i, item in enumerate(items):
                nextitem = items[i + 1] if i + 1 < len(items) else None
                item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
                if nextitem is not None and stop is not None and stop():
                    self.session._setupstate.teardown_exact(None)
                    return

    def close(self) -> None:
        with _quiet():
            try:
                self.config.hook.pytest_sessionfinish(session=self.session, exitstatus=0)
            finally:
                self.config._ensure_unconfigure()
