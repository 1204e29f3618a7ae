"""``%grade`` in Jupyter: grade this notebook's marked cells with ``grade``, run beside the kernel.

The kernel runs the student's code, so it is never the process that judges it: ``%grade [ID...]``
starts ``python -m grader -s <notebook> -e ID... --json <file>`` as a subprocess (with the
interpreter the kernel runs on, in the kernel's working folder, where ``grade`` finds the course)
and shows the console report it prints, rendered by rich as HTML. Without IDs it grades every
exercise a marked cell names. The output's metadata carries the scores (``metadata["grade"]``:
score, max_score and one entry per exercise), for tools that read executed notebooks.

``grade`` reads the notebook as saved on disk, so the report names the file and a note says when a
marked cell as saved is not code this kernel has run (an edit not saved yet, or a cell not run since).
Which notebook: ``--notebook PATH``, else the one the front end names (VS Code's
``__vsc_ipynb_file__``, Jupyter's ``__session__`` or ``JPY_SESSION_NAME``), else the only notebook
in the working folder.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from rich.console import Console
from rich.jupyter import JUPYTER_HTML_FORMAT
from rich.text import Text

from grader.course.discover import find_course, load_course
from grader.course.notebook import Notebook, read_notebook
from grader.errors import GraderError

WIDTH = 100  # columns of the report, as the console report is laid out for a terminal
STOP_SECONDS = 10  # after an interrupt, how long grade may take to stop its workers before it is killed


@dataclass(frozen=True)
class Outcome:
    """What one ``grade`` run printed, its exit status, and the JSON report when it wrote one."""

    returncode: int
    stdout: str
    stderr: str
    report: dict | None


def find_notebook(namespace: dict, environ: dict, cwd: Path) -> Path:
    """The notebook this kernel runs, as its front end names it, else the only one in ``cwd``."""
    for named in (namespace.get("__vsc_ipynb_file__"), namespace.get("__session__"), environ.get("JPY_SESSION_NAME")):
        if not isinstance(named, str) or not named.endswith(".ipynb"):
            continue
        path = Path(named)
        # Jupyter's session path is relative to the server's root, the kernel's folder is the notebook's.
        for candidate in (path if path.is_absolute() else cwd / path, cwd / path.name):
            if candidate.is_file():
                return candidate.resolve()
    found = sorted(cwd.glob("*.ipynb"))
    if len(found) == 1:
        return found[0].resolve()
    raise GraderError("cannot tell which notebook this kernel runs; name it: %grade --notebook work.ipynb")


def grade_command(notebook: Path, exercises: list[str], json_path: Path, *, course: str | None = None,
                  device: str | None = None, timing: bool = True, verbose: bool = False) -> list[str]:
    command = [sys.executable, "-m", "grader", "-s", str(notebook), "--json", str(json_path)]
    for exercise in exercises:
        command += ["-e", exercise]
    if course:
        command += ["--course", course]
    if device:
        command += ["--device", device]
    if not timing:
        command.append("--no-timing")
    if verbose:
        command.append("--verbose")
    return command


def run_grade(command: list[str], json_path: Path, cwd: Path) -> Outcome:
    """Run ``grade`` with its colours on (rich reads FORCE_COLOR) and wait; an interrupt stops it too."""
    env = {**os.environ, "COLUMNS": str(WIDTH), "FORCE_COLOR": "1", "COLORTERM": "truecolor"}
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate()
    except KeyboardInterrupt:  # the kernel's stop button: grade stops its own workers on SIGINT
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        raise
    report = None
    if json_path.is_file():
        try:
            report = json.loads(json_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = None
    return Outcome(proc.returncode, stdout, stderr, report)


def unsaved_notes(notebook: Notebook, exercises: list[str], history: list[str]) -> list[str]:
    """A note for each marked cell, as saved, that this kernel has never run as it stands."""
    ran = {source.strip() for source in history}
    return [f"note: cell {c.number} ({c.exercise}) as saved is not code this kernel has run; %grade grades the "
            f"saved file, so save the notebook first if you changed it" for c in notebook.marked
            if c.exercise in exercises and c.source.strip() not in ran]


def summary(outcome: Outcome, notebook: Path) -> dict:
    """The output's ``metadata["grade"]``: the scores of the JSON report, or why there are none."""
    out: dict = {"notebook": str(notebook), "returncode": outcome.returncode}
    if outcome.report is None:
        out["error"] = Text.from_ansi(outcome.stderr).plain.strip() or "grade wrote no report"
        return out
    out.update(score=outcome.report["score"], max_score=outcome.report["max_score"],
               exercises={e["id"]: {"score": e["score"], "max_score": e["max_score"], "attempted": e["attempted"],
                                    "error": e["error"]} for e in outcome.report["exercises"]})
    return out


def render(*parts: Text) -> dict:
    """A display bundle of rich text: HTML as rich renders it in Jupyter, and plain text."""
    # force_jupyter=False: in a kernel rich would display each print itself; this console only records.
    console = Console(record=True, file=io.StringIO(), width=WIDTH, force_terminal=True, force_jupyter=False,
                      color_system="truecolor")
    for part in parts:
        console.print(part, soft_wrap=True)  # grade already laid the report out for WIDTH columns
    html = console.export_html(inline_styles=True, code_format=JUPYTER_HTML_FORMAT, clear=False)
    return {"text/plain": console.export_text(), "text/html": html}


@magics_class
class GradeMagics(Magics):
    @magic_arguments()
    @argument("exercises", nargs="*", help="Exercise ids (default: every exercise a marked cell names).")
    @argument("--notebook", "-n", help="The notebook file (default: this one, as Jupyter names it).")
    @argument("--course", help="The course folder (default: found from the kernel's working folder).")
    @argument("--device", help="cpu, cuda or auto.")
    @argument("--no-timing", action="store_true", help="Skip the timing checks.")
    @argument("--verbose", "-v", action="store_true", help="Show more detail for failed checks.")
    @line_magic
    def grade(self, line: str) -> None:
        """Grade this notebook's marked cells, as saved, with the grader's hidden checks."""
        args = parse_argstring(self.grade, line)
        cwd = Path.cwd()
        try:
            path = Path(args.notebook).resolve() if args.notebook else find_notebook(self.shell.user_ns, os.environ, cwd)
        except GraderError as exc:
            display(render(Text(f"grade: {exc}", style="red")), raw=True, metadata={"grade": {"error": str(exc)}})
            return
        exercises, notes = list(args.exercises), []
        try:  # for the default selection and the notes only: grade itself reads the notebook again
            notebook = read_notebook(path, load_course(find_course(Path(args.course) if args.course else cwd)))
            exercises = exercises or list(notebook.named)
            notes = unsaved_notes(notebook, exercises, list(self.shell.history_manager.input_hist_raw))
        except GraderError:
            pass  # grade says what is wrong with the notebook or the course
        handle = display(render(Text(f"grading {path.name} …", style="dim")), raw=True, display_id=True)
        with tempfile.TemporaryDirectory(prefix="grade-magic-") as tmp:
            json_path = Path(tmp) / "report.json"
            command = grade_command(path, exercises, json_path, course=args.course, device=args.device,
                                    timing=not args.no_timing, verbose=args.verbose)
            outcome = run_grade(command, json_path, cwd)
        parts = [Text(note, style="yellow") for note in notes]
        parts += [Text.from_ansi(text.rstrip("\n")) for text in (outcome.stdout, outcome.stderr) if text.strip()]
        handle.update(render(*parts), raw=True, metadata={"grade": summary(outcome, path)})


def register(ipython) -> None:
    """Add ``%grade`` to an IPython shell (what ``%load_ext grader`` calls)."""
    ipython.register_magics(GradeMagics)
