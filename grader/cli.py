"""The ``grade`` command. Each command parses its options and calls one keyword-only function."""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader import __version__
from grader.errors import GraderError
from grader.messages import Translator, english, resolve_language

app = typer.Typer(add_completion=False, no_args_is_help=False, rich_markup_mode=None,
                  help="Grade exercises of a PyTorch course against hidden checks, with student code sandboxed.")
console = Console()

SubmissionOpt = Annotated[Optional[Path], typer.Option("--submission", "-s", help="A folder or .zip laid out as <id>/<id>.py, or a notebook (.ipynb) with marked cells (default: the course's exercises/).")]
ExerciseOpt = Annotated[Optional[list[str]], typer.Option("--exercise", "-e", help="Grade only this exercise (repeatable).")]
DeviceOpt = Annotated[Optional[str], typer.Option("--device", help="cpu, cuda or auto (default: [tool.grade] device, else cpu).")]
TimingOpt = Annotated[Optional[bool], typer.Option("--timing/--no-timing", help="Run the timing checks (default: on).")]
CourseOpt = Annotated[Optional[Path], typer.Option("--course", help="The course folder (default: found from the current folder).")]
SubmissionTimeoutOpt = Annotated[Optional[float], typer.Option("--submission-timeout", help="Seconds a whole submission may take.")]
CpuTimeOpt = Annotated[Optional[int], typer.Option("--cpu-time", help="CPU seconds each worker process may use.")]
ProcessesOpt = Annotated[Optional[int], typer.Option("--max-processes", help="Processes and threads a worker may run.")]
LangOpt = Annotated[Optional[str], typer.Option("--lang", help="The report's language: en or zh (default: [tool.grade] lang, else the locale, LANG).")]
FileSizeOpt = Annotated[Optional[str], typer.Option("--max-file-size", help="Largest file a worker may write, e.g. 64MiB.")]


def _settings(course_dir: Optional[Path], submission: Optional[Path], exercises, device, timing, limits=None,
              lang=None):
    from grader.grading import config
    from grader.course.discover import find_course, load_course

    course = load_course(find_course(course_dir or Path.cwd()))
    settings = config.resolve(course=course.root, course_settings=course.settings, submission=submission,
                              exercises=exercises, device=device, timing=timing, limit_overrides=limits,
                              lang=lang)
    course.select(list(settings.exercises))  # unknown ids fail here, with the list of known ones
    return course, settings


def run_grade(*, course_dir, submission, exercises, device, timing, json_path, limits, verbose,
              fail_under=None, junit=None, gradescope=None, markdown=None, lang=None) -> int:
    from grader.course.notebook import check_notebook, is_notebook
    from grader.outputs.ci import percent, write_ci_outputs
    from grader.outputs.console import write_console
    from grader.outputs.files import write_json
    from grader.grading.runner import Grader

    course, settings = _settings(course_dir, submission, exercises, device, timing, limits, lang)
    tr = Translator(settings.lang)
    titles = {e.id: e.title_in(settings.lang) for e in course.exercises}
    if not settings.submission.exists():
        raise GraderError(f"submission {settings.submission} does not exist")
    if is_notebook(settings.submission):  # what stops the run is said before anything is graded
        for warning in check_notebook(settings.submission, course, list(settings.exercises)):
            console.print(Text(tr("cli.note", note=warning), style="yellow"))
    with Grader(course, settings) as grader:
        report = grader.grade(settings.submission, name=str(submission) if submission else english("report.working_copy"))
    write_console(report, console, verbose=verbose, named=tuple(exercises or ()), tr=tr, titles=titles,
                  tracks=course.track_titles_in(settings.lang),
                  submission=None if submission else tr("report.working_copy"))
    if json_path:
        write_json(report, json_path)
    write_ci_outputs(report, junit=junit, gradescope=gradescope, markdown=markdown, fail_under=fail_under,
                     tr=tr, titles=titles)
    broken = [e.id for e in report.exercises if e.error and e.error.startswith("the course's checks are broken")]
    if broken:
        raise GraderError(f"the checks of {', '.join(broken)} are broken; see the report")
    if fail_under is not None and percent(report) < fail_under:
        console.print(Text(tr("cli.under_fail_under", percent=percent(report), threshold=fail_under), style="bold red"))
        return 1
    return 0


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    submission: SubmissionOpt = None,
    exercise: ExerciseOpt = None,
    device: DeviceOpt = None,
    timing: TimingOpt = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the grade-report/1 JSON here.")] = None,
    course: CourseOpt = None,
    call_timeout: Annotated[Optional[float], typer.Option(help="Seconds one call into the submission may take.")] = None,
    memory: Annotated[Optional[str], typer.Option(help="Worker memory limit, e.g. 2GiB.")] = None,
    submission_timeout: SubmissionTimeoutOpt = None,
    cpu_time: CpuTimeOpt = None,
    max_processes: ProcessesOpt = None,
    max_file_size: FileSizeOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show more detail for failed checks.")] = False,
    fail_under: Annotated[Optional[float], typer.Option("--fail-under", help="Exit 1 when under PCT percent of the points of the checks that ran.")] = None,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Write JUnit XML here (one testcase per check).")] = None,
    gradescope: Annotated[Optional[Path], typer.Option("--gradescope", help="Write Gradescope's results.json here.")] = None,
    markdown: Annotated[Optional[Path], typer.Option("--markdown", help="Write a Markdown summary here (e.g. for $GITHUB_STEP_SUMMARY).")] = None,
    lang: LangOpt = None,
    version: Annotated[bool, typer.Option("--version", help="Print the grader's version.")] = False,
) -> None:
    """Grade the course's working copy, or --submission PATH, and print a scored report."""
    if version:
        console.print(__version__)
        raise typer.Exit(0)
    if ctx.invoked_subcommand is not None:
        return
    limits = {"call_seconds": call_timeout, "memory_bytes": memory, "submission_seconds": submission_timeout,
              "cpu_seconds": cpu_time, "processes": max_processes, "file_bytes": max_file_size}
    _exit(lambda: run_grade(course_dir=course, submission=submission, exercises=exercise, device=device,
                            timing=timing, json_path=json_path, limits=limits, verbose=verbose,
                            fail_under=fail_under, junit=junit, gradescope=gradescope, markdown=markdown,
                            lang=lang))


@app.command("list")
def list_exercises(course: CourseOpt = None, lang: LangOpt = None) -> None:
    """Show the course's exercises, by track and in order."""

    def body() -> int:
        from grader.course.discover import find_course, load_course
        from grader.course.withheld import read_withheld

        c = load_course(find_course(course or Path.cwd()))
        language = resolve_language(lang, c.settings, str(c.root / "pyproject.toml") + " [tool.grade]")
        tr = Translator(language)
        tracks = c.track_titles_in(language)
        table = Table(title=tr("list.title", course=c.title_in(language), exercises=tr.n("report.exercises", len(c.exercises))))
        for col in ("list.number", "list.id", "list.title_column", "list.track", "list.functions", "list.checks"):
            table.add_column(tr(col))
        for i, e in enumerate(c.exercises, 1):
            budgets = len(e.timing) + len(e.memory)
            hidden = _count_checks(e.hidden_checks) if e.hidden_checks else len(read_withheld(e))
            table.add_row(str(i), e.id, e.title_in(language), tracks.get(e.track, e.track), ", ".join(e.functions),
                          tr("list.check_counts", public=_count_checks(e.public_checks), hidden=hidden)
                          + (tr.n("list.budgets", budgets) if budgets else ""))
        console.print(table)
        return 0

    _exit(body)


def _count_checks(files) -> int:
    """Check functions written in ``files`` (a parametrised one counts once)."""
    pattern = re.compile(r"^(?:async )?def test_", re.M)
    return sum(len(pattern.findall(p.read_text(encoding="utf-8", errors="replace"))) for p in files)


keys_app = typer.Typer(help="Signing keys for certificates.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("init")
def keys_init(
    out: Annotated[Path, typer.Option("--out", help="Folder for grader.key (owner-only) and grader.pub.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing key.")] = False,
) -> None:
    """Write an Ed25519 key pair for signing certificates."""

    def body() -> int:
        from grader.certify.certificate import init_keys

        key, pub = init_keys(out, force=force)
        console.print(f"private key: {key} (keep it secret)\npublic key:  {pub} (publish it)")
        return 0

    _exit(body)


@app.command("verify")
def verify_certificate(
    cert: Annotated[Path, typer.Argument(help="A certificate (.json) or an Open Badges 3.0 credential (.jwt) written by grade batch --certify.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="The course's grader.pub.")],
    revocations: Annotated[Optional[Path], typer.Option("--revocations", help="A signed revocation list (grade revoke) to consult.")] = None,
) -> None:
    """Check a certificate's or a credential's signature; exit 0 when genuine, 1 with the reason when not."""

    def body() -> int:
        from grader.certify.verifying import verify_any

        console.print(verify_any(cert, public_key, revocations))
        return 0

    _exit(body)


@app.command("revoke")
def revoke(
    student: Annotated[str, typer.Argument(help="The student whose certificate and credentials are revoked.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown to whoever verifies it), e.g. 'copied attention from bob'.")],
    key: Annotated[Path, typer.Option("--key", help="The Ed25519 private key that signed the certificates.")],
    out: Annotated[Path, typer.Option("--out", help="The batch's output folder: its certificates/ name what is revoked; the list is written there.")] = Path("grade-out"),
    list_path: Annotated[Optional[Path], typer.Option("--list", help="The revocation list to add to (default: OUT/revocations.json).")] = None,
    credential_id: Annotated[Optional[list[str]], typer.Option("--id", help="Revoke this credential id too (repeatable), e.g. when the files are gone.")] = None,
    reinstate: Annotated[bool, typer.Option("--reinstate", help="Let later batches certify the student again (what was revoked stays revoked).")] = False,
) -> None:
    """Record a revoked certificate in a signed list that grade verify --revocations consults."""

    def body() -> int:
        from grader.certify.certificate import load_private_key
        from grader.certify.revocation import revoke as add_entry, student_ids

        private = load_private_key(key)
        ids = [] if reinstate else student_ids(out / "certificates", student, private.public_key())
        path = list_path or out / "revocations.json"
        entry, added = add_entry(list_path=path, private_key=private, student=student, reason=reason,
                                 ids=ids + list(credential_id or ()), action="reinstate" if reinstate else "revoke")
        if reinstate:
            console.print(f"reinstated {student} in {path}: the next batch may certify them again")
        elif not added:
            console.print(Text(f"{student} is already revoked in {path} (on {entry.at[:10]}: {entry.reason}); "
                               "the list is unchanged", style="yellow"))
        else:
            console.print(f"revoked {len(entry.ids)} credential(s) of {student} in {path}: {entry.reason}")
        return 0

    _exit(body)


@app.command("similar")
def similar(
    submissions: Annotated[Path, typer.Argument(help="A folder with one entry per student: a folder or a .zip.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for similarity.html and similarity.csv.")] = Path("grade-out"),
    exercise: Annotated[Optional[list[str]], typer.Option("--exercise", "-e", help="Compare only this exercise (repeatable).")] = None,
    course: CourseOpt = None,
    threshold: Annotated[Optional[float], typer.Option("--similarity-threshold", help="Flag a pair at this share of matching code or more (default 0.5).")] = None,
    clear: Annotated[Optional[list[str]], typer.Option("--clear", help="Clear a pair or group (alice,bob), a student (alice), or a file of such lines (repeatable).")] = None,
) -> None:
    """Compare every pair of students per exercise (copydetect); write similarity.html and .csv."""

    def body() -> int:
        from grader.batch.roster import find_students
        from grader.certify.similarity import DEFAULT_THRESHOLD, parse_clear, screen
        from grader.certify.similarity_report import write_reports
        from grader.course.discover import find_course, load_course

        c = load_course(find_course(course or Path.cwd()))
        c.select(list(exercise or ()))
        students, _ = find_students(submissions, out)
        result = screen(course=c, submissions={s.name: s.path for s in students}, exercise_ids=exercise,
                        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
                        cleared=parse_clear(clear))
        page, table = write_reports(result, out.resolve(), c.title)
        flagged = result.flagged()
        if flagged:
            t = Table(title=f"pairs at or above {100 * result.threshold:.0f}%")
            for col in ("exercise", "students", "score", ""):
                t.add_column(col)
            for m in flagged:
                t.add_row(m.exercise, f"{m.a} ↔ {m.b}", f"{100 * m.score:.0f}%",
                          "cleared" if result.is_cleared(m) else "held")
            console.print(t)
        for name, why in sorted(result.unreadable.items()):
            console.print(Text(f"not screened: {name}: {why}", style="yellow"))
        console.print(f"{len(students)} students, {len(result.matches)} pairs compared, {len(flagged)} flagged, "
                      f"{len(result.held())} students held; {page}  {table}")
        return 0

    _exit(body)


@app.command("batch")
def batch(
    submissions: Annotated[Path, typer.Argument(help="A folder with one entry per student: a folder, a .zip or a notebook (.ipynb).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder: reports/, gradescope/, gradebook.csv.")] = Path("grade-out"),
    workers: Annotated[Optional[int], typer.Option("--workers", help="Trusted grading processes (default: the number of cores).")] = None,
    backend: Annotated[str, typer.Option("--backend", help="local (processes on this machine) or ray (RAY_ADDRESS, else a local cluster).")] = "local",
    exercise: ExerciseOpt = None,
    device: DeviceOpt = None,
    timing: TimingOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Grade every student again, even those already graded.")] = False,
    course: CourseOpt = None,
    call_timeout: Annotated[Optional[float], typer.Option(help="Seconds one call into a submission may take.")] = None,
    memory: Annotated[Optional[str], typer.Option(help="Worker memory limit, e.g. 2GiB.")] = None,
    submission_timeout: SubmissionTimeoutOpt = None,
    cpu_time: CpuTimeOpt = None,
    max_processes: ProcessesOpt = None,
    max_file_size: FileSizeOpt = None,
    certify: Annotated[bool, typer.Option("--certify", help="Screen for copies, then sign certificates and Open Badges by [tool.grade.certificate].")] = False,
    key: Annotated[Optional[Path], typer.Option("--key", help="The Ed25519 private key (grade keys init) for --certify.")] = None,
    pass_mark: Annotated[Optional[float], typer.Option("--pass-mark", help="Replace every track's pass mark with this percentage of its points.")] = None,
    similarity_threshold: Annotated[Optional[float], typer.Option("--similarity-threshold", help="Hold students in a pair at this share of matching code or more (default 0.5).")] = None,
    clear: Annotated[Optional[list[str]], typer.Option("--clear", help="Clear a flagged pair or group (alice,bob), a student, or a file of such lines (repeatable).")] = None,
    revocations: Annotated[Optional[Path], typer.Option("--revocations", help="The signed revocation list (grade revoke) whose students are not certified (default: OUT/revocations.json when it exists).")] = None,
    lang: LangOpt = None,
) -> None:
    """Grade a class: every folder, .zip or .ipynb in SUBMISSIONS is one student; resumable (re-run to finish)."""

    def body() -> int:
        from grader.batch.certification import Certify
        from grader.batch.run import run_batch

        if certify and key is None:
            raise GraderError("--certify needs --key FILE (make one with: grade keys init --out DIR)")
        limits = {"call_seconds": call_timeout, "memory_bytes": memory, "submission_seconds": submission_timeout,
                  "cpu_seconds": cpu_time, "processes": max_processes, "file_bytes": max_file_size}
        c, settings = _settings(course, submissions, exercise, device, timing, limits, lang)
        return run_batch(course=c, settings=settings, submissions=submissions, out=out, workers=workers,
                         backend=backend, force=force, console=console,
                         certify=Certify(key, pass_mark, similarity_threshold, tuple(clear or ()), revocations)
                         if certify else None)

    _exit(body)


# Course lifecycle: release, selfcheck, submit, new ---------------------------------------------

@app.command("release")
def release(
    out: Annotated[Path, typer.Option("--out", help="An absent or empty folder for the student copy.")],
    exercise: ExerciseOpt = None,
    course: CourseOpt = None,
    notebooks: Annotated[bool, typer.Option("--notebooks", help="Also write notebooks/<track>.ipynb: one starter notebook per track, the stubs in marked cells (needs the notebook extra).")] = False,
) -> None:
    """Write the student copy of the course: no solutions, no hidden checks, no line of any answer."""

    def body() -> int:
        from grader.course.discover import find_course
        from grader.lifecycle.release import build_release

        r = build_release(course_dir=find_course(course or Path.cwd()), out=out, exercises=exercise,
                          notebooks=notebooks)
        console.print(f"released {len(r.exercises)} exercise(s) into {r.out} ({r.files} files; "
                      f"{r.hidden_checks} hidden checks named in hidden.toml, not included)")
        if r.notebooks:
            console.print(f"starter notebooks: {', '.join(f'notebooks/{t}.ipynb' for t in r.notebooks)}")
        return 0

    _exit(body)


@app.command("selfcheck")
def selfcheck(
    exercise: ExerciseOpt = None,
    course: CourseOpt = None,
    device: DeviceOpt = None,
    timing: TimingOpt = None,
    max_mutants: Annotated[int, typer.Option("--max-mutants", help="Mutants graded per exercise (0: none).")] = 40,
    min_mutation_score: Annotated[Optional[float], typer.Option("--min-mutation-score", help="Fail when an exercise's checks kill under PCT percent of its mutants.")] = None,
    timing_margin: Annotated[float, typer.Option("--timing-margin", help="The reference answer's timing ratio must stay under this fraction of each budget.")] = 0.8,
    markdown: Annotated[Optional[Path], typer.Option("--markdown", help="Write a Markdown summary here.")] = None,
    record_times: Annotated[bool, typer.Option("--record-times", help="Rewrite every reference_times.toml (by default only missing or out-of-date ones are written).")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Trusted grading processes at once (default: the number of cores).")] = None,
) -> None:
    """Prove the course sound: answers earn full marks, stubs zero, metadata complete; score the checks on mutants."""

    def body() -> int:
        from grader.outputs.files import atomic_write
        from grader.lifecycle.selfcheck import markdown as selfcheck_markdown, run_selfcheck, write_console

        result = run_selfcheck(course_dir=course, exercises=exercise, max_mutants=max_mutants,
                               min_mutation_score=min_mutation_score, timing=timing, timing_margin=timing_margin,
                               device=device, progress=lambda text: console.print(Text(text, style="dim")),
                               record="always" if record_times else "stale", workers=workers)
        write_console(result, console)
        if markdown:
            atomic_write(markdown, selfcheck_markdown(result))
        return 0 if result.sound else 1

    _exit(body)


@app.command("submit")
def submit(
    out: Annotated[Path, typer.Option("--out", help="The .zip to write.")] = Path("submission.zip"),
    submission: Annotated[Optional[Path], typer.Option("--submission", "-s", help="What to pack: a folder laid out as <id>/<id>.py, or a notebook (.ipynb) with marked cells (default: the course's exercises/).")] = None,
    exercise: ExerciseOpt = None,
    course: CourseOpt = None,
) -> None:
    """Pack your exercise files (<id>/<id>.py and other .py under <id>/), or a notebook's marked cells, and a manifest into a zip to hand in."""

    def body() -> int:
        from grader.course.discover import find_course
        from grader.lifecycle.submit import pack_submission

        packed = pack_submission(course_dir=find_course(course or Path.cwd()), out=out, source=submission,
                                 exercises=exercise)
        for warning in packed.warnings:
            console.print(Text(f"note: {warning}", style="yellow"))
        console.print(f"wrote {packed.out}: {len(packed.files)} file(s) for {len(packed.exercises)} exercise(s)")
        if packed.untouched:
            console.print(Text(f"not started yet (still raise NotImplementedError): {', '.join(packed.untouched)}",
                               style="yellow"))
        return 0

    _exit(body)


@app.command("new")
def new(
    exercise_id: Annotated[str, typer.Argument(metavar="ID", help="The new exercise's id (lower_case).")],
    track: Annotated[Optional[str], typer.Option("--track", help="Its track (default: the first).")] = None,
    title: Annotated[Optional[str], typer.Option("--title", help="Its title.")] = None,
    function: Annotated[Optional[list[str]], typer.Option("--function", "-f", help="A function students write (repeatable; default: ID).")] = None,
    course: CourseOpt = None,
) -> None:
    """Scaffold an exercise: stub, statement, toml, checks and solution, with TODO(author) markers to fill in."""

    def body() -> int:
        from grader.course.discover import find_course
        from grader.lifecycle.scaffold import new_exercise

        root = find_course(course or Path.cwd())
        made = new_exercise(course_dir=root, exercise=exercise_id, track=track, title=title, functions=function)
        for path in made.files:
            console.print(f"  created {path.relative_to(root)}")
        console.print(f"Fill in every TODO(author) (docs/authoring.md), add wrong answers under "
                      f"tests/wrong_answers/{exercise_id}/, then run: grade selfcheck -e {exercise_id}")
        return 0

    _exit(body)


def _exit(body) -> None:
    """Run a command body; GraderError becomes a message and a non-zero exit, nothing else does."""
    try:
        code = body()
    except GraderError as exc:
        Console(stderr=True, soft_wrap=True).print(Text(f"grade: {exc}", style="red"))
        raise typer.Exit(exc.exit_code) from None
    raise typer.Exit(code or 0)


def run() -> None:
    """The console script: run the command, then leave without tearing the interpreter down.

    Finalising an interpreter that has imported torch (and ``torch._dynamo``, which the optimiser
    oracles import) takes most of a second of module and object teardown after the report is out.
    Nothing of the grader needs it: the sandbox is closed and every file written by then, so exit
    handlers run, other threads are joined, the streams flushed, and the process exits at once.
    """
    if _grades(sys.argv[1:]):
        from grader.measure import WORKER_MODULES
        from grader.sandbox.zygote import start_ahead

        start_ahead(WORKER_MODULES)  # it imports torch while the options are parsed and the course loaded
    try:
        app()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    if not isinstance(code, int):  # sys.exit("message") or sys.exit(None), as the interpreter treats them
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    leave(code)


def _grades(args: list[str]) -> bool:
    """Whether these arguments run the grading command itself (no subcommand, no --help or --version)."""
    commands = {c.name for c in app.registered_commands}
    return not any(a in commands or a in ("--help", "--version") for a in args)


def leave(code: int) -> None:
    """Exit with ``code`` as a clean interpreter exit would, minus the interpreter's teardown.

    Under a profiler, a tracer or coverage (which write their results once the program returns),
    the exit is the ordinary one.
    """
    if sys.getprofile() is not None or sys.gettrace() is not None:
        raise SystemExit(code)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code)
