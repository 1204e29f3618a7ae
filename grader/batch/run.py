"""``grade batch``: a class's submissions graded into reports, a gradebook and Gradescope files.

Each entry of the submissions folder (a folder, a ``.zip`` or a notebook; hidden entries ignored) is one
student. The output folder holds:

- ``batch.json``: the settings its reports were graded with (course, exercises, device, timing,
  limits, grader version, a digest of the checks);
- ``reports/<student>.json``: grade-report/1, written atomically the moment the student is done, plus
  ``"batch": {"settings_sha256", "submission_sha256"}`` saying what it was graded from;
- ``gradescope/<student>.json`` and ``gradebook.csv``, rebuilt from the reports at the end of every run.

A run skips every student whose report matches both the settings and the submission's content, so
the same command after a Ctrl-C, a kill or a crash grades only the rest; a changed submission is
graded again. A run whose settings differ from ``batch.json`` stops before grading unless ``--force``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

from grader import __version__
from grader.grading.pool import GraderSpec, Job, LocalBackend, Outcome
from grader.batch.certification import Certify
from grader.measure.cores import LOCK_DIR
from grader.grading.config import Settings
from grader.course.discover import Course
from grader.errors import GraderError
from grader.outputs.gradebook import Row, summarize, write_gradebook, write_summary
from grader.outputs.gradescope import write_gradescope
from grader.outputs.files import atomic_write
from grader.grading.results import report_from_dict
from grader.batch.roster import Student, find_students

BATCH_SCHEMA = "grade-batch/1"
BACKENDS = ("local", "ray")
INTERRUPTED = 130


def batch_settings(course: Course, settings: Settings) -> dict:
    """Everything that can change a verdict, as plain data: reports graded otherwise are not reused."""
    selected = course.select(list(settings.exercises))
    checks = hashlib.sha256()
    for e in selected:
        for p in sorted([e.toml, *e.public_checks, *e.hidden_checks, *e.path.glob("conftest.py")]):
            checks.update(f"{e.id}/{p.name}\0".encode() + p.read_bytes() + b"\0")
    return {"course": course.id, "exercises": [e.id for e in selected], "device": settings.device,
            "timing": settings.timing, "limits": asdict(settings.limits), "release": settings.release,
            "grader_version": __version__, "checks_sha256": checks.hexdigest()}


def digest(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _differences(old: dict, new: dict) -> str:
    names = {"checks_sha256": "the checks"}
    out = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            out.append(f"{names[key]} changed" if key in names else f"{key} {old.get(key)!r} → {new.get(key)!r}")
    return "; ".join(out) or "unreadable batch.json"


def check_settings(out: Path, settings_doc: dict, force: bool) -> None:
    """Refuse to mix reports of different settings in one folder, unless forced; record the settings."""
    path = out / "batch.json"
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8")).get("settings", {})
        except (OSError, ValueError, AttributeError):
            old = {}
        if old != settings_doc and not force:
            raise GraderError(f"{out} holds reports graded with other settings ({_differences(old, settings_doc)}); "
                              "use another --out, or --force to grade every student again with these settings")
    atomic_write(path, json.dumps({"schema": BATCH_SCHEMA, "settings": settings_doc,
                                   "settings_sha256": digest(settings_doc)}, indent=2) + "\n")


def load_saved(path: Path, settings_sha: str, submission_sha: str) -> dict | None:
    """The saved report at ``path`` if it was graded with these settings from this submission."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    stamp = doc.get("batch") if isinstance(doc, dict) else None
    if not isinstance(stamp, dict) or stamp.get("settings_sha256") != settings_sha \
            or stamp.get("submission_sha256") != submission_sha:
        return None
    return doc


class StudentRate(ProgressColumn):
    """Seconds per student, from the recent throughput of all workers together."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{1 / speed:.2f} s/student" if speed else "– s/student", style="progress.data.speed")


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(), TextColumn("students"),
                    StudentRate(), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                    TextColumn("[dim]{task.fields[last]}"), console=console)


class Recorder:
    """Saves each graded student the moment its Outcome arrives: report, then Gradescope file."""

    def __init__(self, out: Path, settings_sha: str, digests: dict[str, str]):
        self.out, self.settings_sha, self.digests = out, settings_sha, digests
        self.advance = lambda name: None  # the progress bar's, once it exists
        self.graded: list[str] = []
        self.failures: dict[str, str] = {}  # student -> why the grader could not grade it
        self.broken: list[str] = []  # the course's own checks are broken: the batch stops

    def __call__(self, outcome: Outcome) -> bool:
        """Record one Outcome; False asks the backend to stop handing out students."""
        name = outcome.student
        if outcome.report is None:
            self.failures[name] = outcome.error or "not graded"
            self.advance(name)
            return True
        report = report_from_dict(outcome.report)
        bad = [e for e in report.exercises if e.error and e.error.startswith("the course's checks are broken")]
        if bad:
            self.broken += [f"{e.id}: {e.error}" for e in bad]
            self.failures[name] = "the course's checks are broken"
            return False
        stamp = {"settings_sha256": self.settings_sha, "submission_sha256": self.digests[name]}
        try:
            atomic_write(self.out / "reports" / f"{name}.json",
                         json.dumps({**outcome.report, "batch": stamp}, indent=2) + "\n")
            write_gradescope(report, self.out / "gradescope" / f"{name}.json")
        except OSError as exc:
            raise GraderError(f"cannot write the report of {name} in {self.out}: {exc}") from None
        self.graded.append(name)
        self.advance(name)
        return True


def _lock_out(out: Path) -> int:
    """An exclusive lock on the output folder for the run: two batches never write one folder."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise GraderError(f"another grade batch is writing to {out}") from None
    for sub in ("reports", "gradescope"):  # temporary files of a run that was killed mid-write
        for stale in (out / sub).glob(".*"):
            stale.unlink(missing_ok=True)
    return fd


def _plan_workers(backend: str, settings: Settings, workers: int | None, todo: int, console: Console):
    """(workers, gpus, torch threads per trusted process) for the local backend; timing caps workers."""
    cores = len(os.sched_getaffinity(0))
    gpus: tuple[str, ...] = ()
    if settings.device.startswith("cuda"):
        import torch

        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        gpus = tuple(visible.split(",")) if visible else tuple(str(i) for i in range(torch.cuda.device_count()))
    n = workers or cores
    if backend == "local" and settings.timing:
        cap, unit = (len(gpus), "GPU") if gpus else (cores, "core")
        if n > cap:
            console.print(f"[yellow]timing is on: {cap} workers, not {n} (a timed check needs a {unit} "
                          f"to itself; --no-timing lifts this)[/yellow]")
            n = cap
    n = max(1, min(n, todo))
    return n, gpus, (1 if settings.timing else max(1, cores // n))


def run_batch(*, course: Course, settings: Settings, submissions: Path, out: Path, workers: int | None = None,
              backend: str = "local", force: bool = False, console: Console | None = None,
              certify: Certify | None = None) -> int:
    """Grade every student of ``submissions`` into ``out``; 0 when every student has a report.

    Returns 1 when some students could not be graded (the grader failed on them; a re-run retries
    them) and 130 when interrupted (a re-run finishes the batch). Raises GraderError when the batch
    cannot run at all (a bad folder, other settings in ``out``, broken checks).
    """
    console = console or Console()
    if certify is not None:
        from grader.batch.certification import check

        check(certify, course)
    if backend not in BACKENDS:
        raise GraderError(f"invalid backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if workers is not None and workers < 1:
        raise GraderError(f"invalid --workers {workers} (at least 1)")
    submissions, out = submissions.resolve(), out.resolve()
    settings = replace(settings, submission=submissions)  # the sandbox hides every student's files
    students, ignored = find_students(submissions, out)
    settings_doc = batch_settings(course, settings)
    settings_sha = digest(settings_doc)
    lock = _lock_out(out)
    try:
        check_settings(out, settings_doc, force)
        reports_dir, gradescope_dir = out / "reports", out / "gradescope"
        done = {s.name for s in students
                if not force and load_saved(reports_dir / f"{s.name}.json", settings_sha, s.digest)}
        todo = [s for s in students if s.name not in done]
        if ignored:
            console.print(f"[yellow]ignored (not a folder, .zip or .ipynb): {', '.join(ignored)}[/yellow]")
        record = Recorder(out, settings_sha, {s.name: s.digest for s in todo})
        interrupted = False
        t0 = time.monotonic()
        if todo:
            runner = _backend(backend, course, settings, out, workers, len(todo), console,
                              (certify.key.resolve().parent,) if certify else ())
            console.print(f"Grading {len(todo)} of {len(students)} students ({len(done)} already graded) in "
                          f"{', '.join(settings_doc['exercises'])} on {settings.device}, timing "
                          f"{'on' if settings.timing else 'off'}, with {runner.describe()}")
            interrupted = _run(runner, todo, record, len(students), len(done), console)
        else:
            console.print(f"all {len(students)} students are already graded (--force grades them again)")
        rows = _rebuild(students, settings_doc, settings_sha, out, record.failures, interrupted)
        lines = None
        if certify is not None and not interrupted:
            from grader.batch.certification import certify_class, print_verdicts

            verdicts = certify_class(rows=rows, students=students, course=course, settings_doc=settings_doc,
                                     out=out, certify=certify, console=console, lang=settings.lang)
            print_verdicts(verdicts, out, console)
            lines = {name: v.line for name, v in verdicts.items()}
            write_gradebook(rows, list(settings_doc["exercises"]), out / "gradebook.csv", certificates=lines)
        elif certify is not None:
            console.print("[yellow]interrupted: no certificates issued or withdrawn until the batch is complete"
                          "[/yellow]")
        write_class_page(rows, out / "summary.html", course.title_in(settings.lang), certificates=lines,
                         lang=settings.lang, track_titles=course.track_titles_in(settings.lang))
    finally:
        os.close(lock)
    elapsed = time.monotonic() - t0
    if record.graded:
        console.print(f"graded {_students(len(record.graded))} in {elapsed:.1f} s "
                      f"({elapsed / len(record.graded):.2f} s/student, "
                      f"start-up included); {len(done)} were already graded")
    write_summary(summarize(rows), console)
    console.print(f"reports: {reports_dir}/  gradebook: {out / 'gradebook.csv'}  gradescope: {gradescope_dir}/  "
                  f"summary: {out / 'summary.html'}")
    if record.broken:
        raise GraderError(f"the checks are broken, batch stopped: {'; '.join(dict.fromkeys(record.broken))}")
    if interrupted:
        left = sum(1 for r in rows if r.report is None)
        console.print(f"[yellow]interrupted: {_students(left)} not graded yet; run the same command again "
                      "to grade the rest (graded students are kept)[/yellow]")
        return INTERRUPTED
    return 1 if any(r.report is None for r in rows) else 0


def _backend(backend: str, course: Course, settings: Settings, out: Path, workers: int | None, todo: int,
             console: Console, extra_hidden: tuple[Path, ...] = ()):
    n, gpus, threads = _plan_workers(backend, settings, workers, todo, console)
    spec = GraderSpec(course.root, settings, hidden=(out, LOCK_DIR, *extra_hidden), pin=settings.timing,
                      threads=threads)
    if backend == "ray":
        from grader.batch.ray_backend import RayBackend

        return RayBackend(spec, workers)
    return LocalBackend(spec, n, gpus)


def _run(runner, todo: list[Student], record: Recorder, total: int, done: int, console: Console) -> bool:
    """Grade ``todo`` under a progress bar; True when interrupted (Ctrl-C, or SIGTERM: the same here)."""
    progress = _progress(console)
    task = progress.add_task("grading", total=total, completed=done, last="")
    record.advance = lambda name: progress.update(task, advance=1, last=escape(name))
    on_main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, signal.default_int_handler) if on_main else None
    try:
        with progress:
            runner.run([Job(s.name, str(s.path)) for s in todo], record)
    except KeyboardInterrupt:
        return True
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, old)
    return False


def _students(n: int) -> str:
    return f"{n} student{'s' if n != 1 else ''}"


def _rebuild(students: list[Student], settings_doc: dict, settings_sha: str, out: Path,
             failures: dict[str, str], interrupted: bool) -> list[Row]:
    """The gradebook from the saved reports alone (and Gradescope files a killed run did not write)."""
    rows = []
    for s in students:
        doc = load_saved(out / "reports" / f"{s.name}.json", settings_sha, s.digest)
        if doc is None:
            reason = failures.get(s.name) or ("interrupted before it was graded" if interrupted else "not graded")
            rows.append(Row(s.name, None, reason))
            continue
        report = report_from_dict(doc)
        if not (out / "gradescope" / f"{s.name}.json").exists():
            write_gradescope(report, out / "gradescope" / f"{s.name}.json")
        rows.append(Row(s.name, report))
    write_gradebook(rows, list(settings_doc["exercises"]), out / "gradebook.csv")
    return rows


def write_class_page(rows: list[Row], path: Path, title: str, certificates: dict[str, str] | None = None,
                     lang: str = "en", track_titles: dict[str, str] | None = None) -> None:
    """summary.html, in ``lang``, from the rows' saved reports, the reasons of those not graded, and the
    certificates."""
    from grader.outputs.summary import write_summary as write_page

    write_page({r.student: r.report for r in rows if r.report is not None}, path, title,
               errors={r.student: r.error or "not graded" for r in rows if r.report is None},
               certificates=certificates, lang=lang, track_titles=track_titles)
