"""The rich console report. Writers never score: they render a Report as it is.

The report ends with its summary: a line per track with the track's total and a line per exercise
(a track that nobody started yet is one line naming its exercises). Above it comes the check-by-check
table of every exercise that was attempted and is not yet fully passed, of every exercise named with
``-e``, and of all of them with ``--verbose`` (which also lists every exercise of an unstarted track).
"""

from __future__ import annotations

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from grader.grading.results import ExerciseResult, Report

STATUS_STYLE = {"passed": "green", "failed": "red", "error": "magenta", "timeout": "yellow", "skipped": "dim"}
STATUS_MARK = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "⏱", "skipped": "–"}
FAILING = ("failed", "error", "timeout")


def points(score: float, max_score: float) -> str:
    """``4.1/6``: points as people read them, to two decimals at most (the JSON report has them exact)."""
    return f"{round(score, 2):g}/{round(max_score, 2):g}"


def track_title(track: str) -> str:
    return track.replace("-", " ").replace("_", " ").capitalize() if track else "Exercises"


def timing_text(timing: dict | None) -> str:
    if not timing:
        return ""
    ratio, budget = timing.get("ratio"), timing.get("budget")
    if ratio is None or budget is None:
        return ""
    rounds = timing.get("rounds", 0)
    bound = "≥" if timing.get("lower_bound") else ""  # a block cut off at its time limit
    return f"{bound}{ratio:.2f}× (budget {budget:g}×" + (f", {rounds} rounds)" if rounds else ")")


def memory_text(memory: dict | None) -> str:
    if not memory or memory.get("peak_bytes") is None:
        return ""
    return f"{memory['peak_bytes'] / 2**20:.1f} MiB (budget {memory.get('budget_bytes', 0) / 2**20:.1f} MiB)"


def status_text(ex: ExerciseResult) -> tuple[str, str]:
    """(what the summary line says of the exercise, its style)."""
    if not ex.attempted:
        return "not started", "dim"
    if ex.error:
        return "cannot be graded", "magenta"
    failing = sum(1 for c in ex.checks if c.status in FAILING)
    if failing:
        return f"failing {failing} of {sum(1 for c in ex.checks if c.status != 'skipped')}", "red"
    if ex.max_score > 0 and ex.score >= ex.max_score:
        return "passing", "green"
    return "passing what ran", "yellow"


def _mark(ex: ExerciseResult) -> tuple[str, str]:
    if not ex.attempted:
        return "·", "dim"
    if ex.max_score > 0 and ex.score >= ex.max_score:
        return "✓", "green"
    return ("!", "magenta") if ex.error else ("✗", "red")


def write_console(report: Report, console: Console, verbose: bool = False, named: tuple[str, ...] = ()) -> None:
    """The summary by track; above it, the checks of the exercises worth a closer look."""
    n = len(report.exercises)
    console.print(Text.assemble(("Grading ", "bold"), (report.submission, "bold cyan"),
                                f" on {report.device}: {n} exercise{'s' if n != 1 else ''}  "
                                f"(grader {report.grader_version})"))
    for ex in report.exercises:
        full = ex.max_score > 0 and ex.score >= ex.max_score and not ex.error
        if verbose and ex.attempted or ex.id in named or (ex.attempted and not full):
            _write_checks(ex, console)
    console.print()
    _write_summary(report, console, verbose)
    pct = 100.0 * report.score / report.max_score if report.max_score else 0.0
    console.print(Text.assemble(("Total ", "bold"), (points(report.score, report.max_score), "bold"),
                                f"  ({pct:.1f}%)  in {report.duration_s:.1f} s"))
    if report.isolation:
        console.print(Text("isolation: " + ", ".join(report.isolation), style="dim"))


def _summary_table() -> Table:
    table = Table(show_header=False, box=None, pad_edge=False, expand=False)
    table.add_column(width=2, no_wrap=True)
    table.add_column(width=28, no_wrap=True, overflow="ellipsis")
    table.add_column(width=16, no_wrap=True, overflow="ellipsis", style="dim")
    table.add_column(width=9, justify="right", no_wrap=True)
    table.add_column(overflow="fold", min_width=14)
    return table


def _write_summary(report: Report, console: Console, verbose: bool = False) -> None:
    """A line per track with its total, then a line per exercise; a track nobody started yet shows
    its exercises' ids on one wrapped line instead (all of them with ``verbose``)."""
    tracks: dict[str, list[ExerciseResult]] = {}
    for ex in report.exercises:
        tracks.setdefault(ex.track, []).append(ex)
    for track, exercises in tracks.items():
        table = _summary_table()
        score, top = sum(e.score for e in exercises), sum(e.max_score for e in exercises)
        started = sum(1 for e in exercises if e.attempted)
        collapsed = not started and not verbose and len(tracks) > 1
        table.add_row("", Text(track_title(track), style="bold"), "", Text(points(score, top), style="bold"),
                      Text("not started" if collapsed else f"{started} of {len(exercises)} started", style="dim"))
        if not collapsed:
            for ex in exercises:
                mark, style = _mark(ex)
                status, status_style = status_text(ex)
                table.add_row(Text(mark, style=style), ex.title, ex.id,
                              Text(points(ex.score, ex.max_score), style=style if ex.attempted else "dim"),
                              Text(status, style=status_style))
        console.print(table)
        if collapsed:
            console.print(Padding(Text(", ".join(e.id for e in exercises), style="dim"), (0, 0, 0, 4)))


def _write_checks(ex: ExerciseResult, console: Console) -> None:
    """One exercise, each check with its points and status, and the reasons for failed public checks."""
    table = Table(show_header=False, box=None, pad_edge=False, expand=False)
    table.add_column(width=2, no_wrap=True)
    table.add_column(no_wrap=True, overflow="ellipsis", max_width=56)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(overflow="fold")
    # One reason shared by every failed check (a stub, a missing function) is printed once.
    failing = [c for c in ex.checks if c.status in FAILING]
    messages = {c.message for c in failing}
    shared = next(iter(messages)) if len(messages) == 1 and len(failing) > 1 and \
        not any(c.status == "passed" for c in ex.checks) else None
    for c in ex.checks:
        style = STATUS_STYLE.get(c.status, "")
        name = Text(("(hidden) " if c.hidden else "") + c.name, style="" if c.status == "passed" else style)
        detail = timing_text(c.timing) if c.kind == "timing" else memory_text(c.memory) if c.kind == "memory" else ""
        if c.status != "passed" and c.message and c.message != shared:
            detail = f"{detail}  {c.message}".strip()
        table.add_row(Text(STATUS_MARK.get(c.status, "?"), style=style), name,
                      points(c.score, c.max_score), Text(detail, style="dim" if c.status == "passed" else ""))
    full = ex.max_score > 0 and ex.score == ex.max_score
    console.print()
    console.print(Text.assemble((f"{ex.title}", "bold"), f" [{ex.id}]  ",
                                (points(ex.score, ex.max_score), "green" if full else "yellow" if ex.score else "red")))
    if not ex.attempted:
        console.print(Text("  not started: the file is missing or still the stub", style="dim"))
    elif ex.error:
        console.print(Text(f"  {ex.error}", style="red"))
    elif shared:
        console.print(Text(f"  every failed check: {shared}", style="red"))
    if ex.checks:
        console.print(table)
