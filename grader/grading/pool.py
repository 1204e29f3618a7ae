"""Long-lived trusted grading processes, each holding one Grader: a batch's students, selfcheck's mutants.

A trusted process imports torch, pytest and the checks once, builds one
:class:`~grader.grading.runner.Grader` (one zygote) and grades job after job. The local backend runs
``workers`` such processes (multiprocessing, spawn); ``grader.batch.ray_backend`` runs the same
:class:`TrustedGrader` as Ray actors.

Timed checks get a core to themselves: with timing on, each trusted process claims one core for its
whole life (an exclusive ``flock`` on ``<tmp>/grade-cores/cpu<N>.lock``, machine-wide, so two batches
on one machine respect each other too) and pins itself to it before its zygote starts, so it, its
zygote and every sandboxed worker it forks run on that core and nowhere else. No two trusted
processes share a core, so a timed check only ever shares its core with its own idle trusted process.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from grader.errors import GraderError
from grader.measure.cores import LOCK_DIR, claim_core

if TYPE_CHECKING:  # the batch process need not import torch to start its trusted processes
    from grader.grading.config import Settings

WATCHDOG_MARGIN = 120.0  # seconds past the submission's own time limit before its process is killed
STOP_GRACE = 15.0  # seconds an interrupted trusted process has to close its sandbox


@dataclass(frozen=True)
class Job:
    """One submission to grade: the name the report uses, the folder or .zip, and how (``Grader.grade``)."""

    student: str
    path: str
    only: tuple[str, ...] = ()  # some of the grader's exercises (all when empty)
    attempt_all: bool = False
    quick: bool = False


@dataclass(frozen=True)
class Outcome:
    """A graded student (``report``, a grade-report/1 dict) or why the grader could not grade it."""

    student: str
    report: dict | None
    error: str | None = None
    seconds: float = 0.0
    call_times: tuple = ()  # (exercise, check, seconds): each check's slowest call into the submission


@dataclass(frozen=True)
class GraderSpec:
    """What a trusted process needs to build its own Grader."""

    course_root: Path
    settings: Settings
    hidden: tuple[Path, ...] = ()  # beyond the course and the submissions: the output folder
    pin: bool = False  # claim a core of its own (timing on)
    threads: int = 1  # torch threads for the oracles in the trusted process
    lock_dir: Path = LOCK_DIR


class TrustedGrader:
    """One trusted process's grading state: a core (when timing), one Grader, reused for every student."""

    def __init__(self, spec: GraderSpec):
        self.core, self._lock = claim_core(spec.lock_dir) if spec.pin else (None, None)
        import torch

        from grader.course.discover import load_course
        from grader.grading.runner import Grader

        torch.set_num_threads(spec.threads)
        self.grader = Grader(load_course(spec.course_root), spec.settings, extra_hidden=list(spec.hidden), start=True,
                             many=True)

    def grade(self, job: Job) -> Outcome:
        """Grade one student; the grader's own failures become an Outcome with an error, never raise."""
        t0 = time.monotonic()
        try:
            report = self.grader.grade(Path(job.path), name=job.student, only=list(job.only) or None,
                                       attempt_all=job.attempt_all, quick=job.quick, settle=False)
        except Exception as exc:  # noqa: BLE001 - one student's grader failure must not end the batch
            return Outcome(job.student, None, f"the grader failed: {type(exc).__name__}: {exc}",
                           round(time.monotonic() - t0, 3))
        return Outcome(job.student, report.to_dict(), None, round(time.monotonic() - t0, 3),
                       tuple((e, c, s) for (e, c), s in self.grader.call_times.items()))

    def close(self) -> None:
        self.grader.close()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


# The local backend ------------------------------------------------------------------------------

def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _die_with_parent(parent: int) -> None:
    """Ask Linux to send SIGTERM when the batch process dies, killed or not (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        raise KeyboardInterrupt


def serve(conn, spec: GraderSpec, parent: int) -> None:
    """A trusted process: build a TrustedGrader, then grade each Job received until told to stop.

    SIGINT is ignored (the batch decides, and a terminal's Ctrl-C reaches every process); SIGTERM
    interrupts the student in flight, whose result is never sent, and closes the sandbox cleanly.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        _die_with_parent(parent)
        try:
            trusted = TrustedGrader(spec)
        except Exception as exc:  # noqa: BLE001 - reported to the batch, which stops
            conn.send(("fatal", f"{type(exc).__name__}: {exc}"))
            return
        try:
            conn.send(("ready", trusted.core))
            while True:
                job = conn.recv()
                if job is None:
                    return
                conn.send(("done", trusted.grade(job)))
        finally:
            trusted.close()
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return


@dataclass
class _Slot:
    process: multiprocessing.Process
    conn: object
    ready: bool = False
    job: Job | None = None
    since: float = 0.0
    core: int | None = None


@dataclass
class LocalBackend:
    """``workers`` trusted processes on this machine, each fed one student at a time."""

    spec: GraderSpec
    workers: int
    gpus: tuple[str, ...] = ()  # CUDA_VISIBLE_DEVICES for process i is gpus[i % len(gpus)]
    slots: list[_Slot] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.workers} local trusted process{'es' if self.workers != 1 else ''}"

    def run(self, jobs: list[Job], on_outcome: Callable[[Outcome], bool]) -> None:
        """Grade ``jobs``; ``on_outcome`` is called as each finishes and returns False to stop early."""
        pending = deque(jobs)
        ctx = multiprocessing.get_context("spawn")
        limit = self.spec.settings.limits.submission_seconds + WATCHDOG_MARGIN
        stopping = False

        def report(outcome: Outcome) -> None:
            nonlocal stopping
            stopping |= on_outcome(outcome) is False

        try:
            self.slots = [self._start(ctx, i) for i in range(min(self.workers, len(jobs)))]
            while any(s.job for s in self.slots) or (pending and not stopping):
                for s in self.slots:
                    if s.ready and s.job is None and pending and not stopping:
                        s.job, s.since = pending.popleft(), time.monotonic()
                        s.conn.send(s.job)
                wait([s.conn for s in self.slots] + [s.process.sentinel for s in self.slots], timeout=1.0)
                for i, s in enumerate(self.slots):
                    kind, value = self._poll(s, limit)
                    if kind == "ready":
                        s.ready, s.core = True, value
                    elif kind == "done":
                        s.job = None
                        report(value)
                    elif kind == "fatal":
                        raise GraderError(f"a trusted grading process could not start: {value}")
                    elif kind in ("dead", "overdue"):
                        # The student in flight is recorded as not graded (a re-run retries it);
                        # a fresh process takes the slot.
                        if kind == "overdue":
                            value = f"grading took longer than {limit:g} s and was stopped"
                            self._stop(s, graceful=False)
                            s.process.join(STOP_GRACE)
                            if s.process.is_alive():
                                s.process.kill()
                        if s.job is not None:
                            report(Outcome(s.job.student, None, value))
                        s.conn.close()
                        self.slots[i] = self._start(ctx, i) if pending and not stopping else None
                self.slots = [s for s in self.slots if s is not None]
        finally:
            self.close()

    @staticmethod
    def _poll(s: _Slot, limit: float) -> tuple[str | None, object]:
        """The slot's next event: a message from it, ``dead`` or ``overdue`` with a reason, or nothing."""
        try:
            if s.conn.poll():
                return s.conn.recv()
        except (EOFError, OSError):
            pass
        if not s.process.is_alive():
            if not s.ready:
                return "fatal", f"it exited with code {s.process.exitcode} before it was ready"
            return "dead", f"the trusted grading process died (exit code {s.process.exitcode})"
        if s.job is not None and time.monotonic() - s.since > limit:
            return "overdue", None
        return None, None

    def _start(self, ctx, index: int) -> _Slot:
        parent_end, child_end = ctx.Pipe()
        process = ctx.Process(target=serve, args=(child_end, self.spec, os.getpid()),
                              name=f"grade-trusted-{index}", daemon=False)
        old = os.environ.get("CUDA_VISIBLE_DEVICES")
        if self.gpus:
            os.environ["CUDA_VISIBLE_DEVICES"] = self.gpus[index % len(self.gpus)]
        try:
            process.start()  # a spawned child inherits os.environ as it is now
        finally:
            if self.gpus:
                if old is None:
                    os.environ.pop("CUDA_VISIBLE_DEVICES", None)
                else:
                    os.environ["CUDA_VISIBLE_DEVICES"] = old
        child_end.close()
        return _Slot(process, parent_end)

    @staticmethod
    def _stop(s: _Slot, graceful: bool) -> None:
        """An idle, ready process is told to stop; one still starting or grading is interrupted."""
        if not s.process.is_alive():
            return
        if graceful and s.ready and s.job is None:
            try:
                s.conn.send(None)
                return
            except OSError:
                pass
        s.process.terminate()

    def close(self) -> None:
        """Stop every trusted process: idle ones are told to stop, busy ones interrupted (SIGTERM)."""
        for s in self.slots:
            self._stop(s, graceful=True)
        deadline = time.monotonic() + STOP_GRACE
        for s in self.slots:
            s.process.join(max(0.0, deadline - time.monotonic()))
            if s.process.is_alive():
                s.process.kill()
                s.process.join()
            s.conn.close()
        self.slots.clear()
