"""The rich console report. Writers never score: they render a Report as it is.

The report ends with its summary: a line per track with the track's total and a line per exercise
(a track that nobody started yet is one line naming its exercises). Above it comes the check-by-check
table of every exercise that was attempted and is not yet fully passed, of every exercise named with
``-e``, and of all of them with ``--verbose`` (which also lists every exercise of an unstarted track).

Every fixed word comes from the catalogue (``grader/messages.py``) in the translator's language; a
check's message is rendered from its key, and shown as it came when it has none (the submission's
own words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from grader.grading.results import ExerciseResult, Report
from grader.messages import Translator

STATUS_STYLE = {"passed": "green", "failed": "red", "error": "magenta", "timeout": "yellow", "skipped": "dim"}
STATUS_MARK = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "⏱", "skipped": "–"}
FAILING = ("failed", "error", "timeout")


def points(score: float, max_score: float) -> str:
    """``4.1/6``: points as people read them, to two decimals at most (the JSON report has them exact)."""
    return f"{round(score, 2):g}/{round(max_score, 2):g}"


ENGLISH = Translator("en")


def track_title(track: str, tr: Translator = ENGLISH, names: Mapping[str, str] | None = None) -> str:
    """A track's name in the reader's language (``names``: the course's translations), else from its id."""
    if names and track in names:
        return names[track]
    return track.replace("-", " ").replace("_", " ").capitalize() if track else tr("report.exercises_heading")


def timing_text(timing: dict | None, tr: Translator = ENGLISH) -> str:
    if not timing:
        return ""
    ratio, budget = timing.get("ratio"), timing.get("budget")
    if ratio is None or budget is None:
        return ""
    rounds = timing.get("rounds", 0)
    bound = "≥" if timing.get("lower_bound") else ""  # a block cut off at its time limit
    if rounds:
        return tr("report.timing_rounds", bound=bound, ratio=ratio, budget=budget, rounds=rounds)
    return tr("report.timing", bound=bound, ratio=ratio, budget=budget)


def memory_text(memory: dict | None, tr: Translator = ENGLISH) -> str:
    if not memory or memory.get("peak_bytes") is None:
        return ""
    return tr("report.memory", peak=memory["peak_bytes"] / 2**20, budget=memory.get("budget_bytes", 0) / 2**20)


def status_text(ex: ExerciseResult, tr: Translator = ENGLISH) -> tuple[str, str]:
    """(what the summary line says of the exercise, its style)."""
    if not ex.attempted:
        return tr("report.not_started"), "dim"
    if ex.error:
        return tr("report.cannot_be_graded"), "magenta"
    failing = sum(1 for c in ex.checks if c.status in FAILING)
    if failing:
        return tr("report.failing", failing=failing, ran=sum(1 for c in ex.checks if c.status != "skipped")), "red"
    if ex.max_score > 0 and ex.score >= ex.max_score:
        return tr("report.passing"), "green"
    return tr("report.passing_what_ran"), "yellow"


def _mark(ex: ExerciseResult) -> tuple[str, str]:
    if not ex.attempted:
        return "·", "dim"
    if ex.max_score > 0 and ex.score >= ex.max_score:
        return "✓", "green"
    return ("!", "magenta") if ex.error else ("✗", "red")


def write_console(report: Report, console: Console, verbose: bool = False, named: tuple[str, ...] = (),
                  tr: Translator = ENGLISH, titles: Mapping[str, str] | None = None,
                  tracks: Mapping[str, str] | None = None, submission: str | None = None) -> None:
    """The summary by track; above it, the checks of the exercises worth a closer look.

    ``titles`` and ``tracks`` name exercises and tracks in the reader's language; ``submission``
    names the submission in the heading instead of the report's own name.
    """
    view = _View(tr, titles or {}, tracks or {})
    console.print(Text.assemble((tr("report.grading"), "bold"), (submission or report.submission, "bold cyan"),
                                tr("report.heading", device=report.device, version=report.grader_version,
                                   exercises=tr.n("report.exercises", len(report.exercises)))))
    for ex in report.exercises:
        full = ex.max_score > 0 and ex.score >= ex.max_score and not ex.error
        if verbose and ex.attempted or ex.id in named or (ex.attempted and not full):
            _write_checks(ex, console, view)
    console.print()
    _write_summary(report, console, verbose, view)
    pct = 100.0 * report.score / report.max_score if report.max_score else 0.0
    console.print(Text.assemble((tr("report.total"), "bold"), (points(report.score, report.max_score), "bold"),
                                tr("report.total_detail", percent=pct, seconds=report.duration_s)))
    if report.isolation:
        console.print(Text(tr("report.isolation", layers=", ".join(report.isolation)), style="dim"))


@dataclass(frozen=True)
class _View:
    """What a writer needs to say things in the reader's language."""

    tr: Translator
    titles: Mapping[str, str]
    tracks: Mapping[str, str]

    def title(self, ex: ExerciseResult) -> str:
        return self.titles.get(ex.id, ex.title)


def _summary_table() -> Table:
    table = Table(show_header=False, box=None, pad_edge=False, expand=False)
    table.add_column(width=2, no_wrap=True)
    table.add_column(width=28, no_wrap=True, overflow="ellipsis")
    table.add_column(width=16, no_wrap=True, overflow="ellipsis", style="dim")
    table.add_column(width=9, justify="right", no_wrap=True)
    table.add_column(overflow="fold", min_width=14)
    return table


def _write_summary(report: Report, console: Console, verbose: bool, view: _View) -> None:
    """A line per track with its total, then a line per exercise; a track nobody started yet shows
    its exercises' ids on one wrapped line instead (all of them with ``verbose``)."""
    tracks: dict[str, list[ExerciseResult]] = {}
    for ex in report.exercises:
        tracks.setdefault(ex.track, []).append(ex)
    tr = view.tr
    for track, exercises in tracks.items():
        table = _summary_table()
        score, top = sum(e.score for e in exercises), sum(e.max_score for e in exercises)
        started = sum(1 for e in exercises if e.attempted)
        collapsed = not started and not verbose and len(tracks) > 1
        table.add_row("", Text(track_title(track, tr, view.tracks), style="bold"), "", Text(points(score, top), style="bold"),
                      Text(tr("report.not_started") if collapsed else
                           tr("report.started", started=started, total=len(exercises)), style="dim"))
        if not collapsed:
            for ex in exercises:
                mark, style = _mark(ex)
                status, status_style = status_text(ex, tr)
                table.add_row(Text(mark, style=style), view.title(ex), ex.id,
                              Text(points(ex.score, ex.max_score), style=style if ex.attempted else "dim"),
                              Text(status, style=status_style))
        console.print(table)
        if collapsed:
            console.print(Padding(Text(", ".join(e.id for e in exercises), style="dim"), (0, 0, 0, 4)))


def _write_checks(ex: ExerciseResult, console: Console, view: _View) -> None:
    """One exercise, each check with its points and status, and the reasons for failed public checks."""
    tr = view.tr
    table = Table(show_header=False, box=None, pad_edge=False, expand=False)
    table.add_column(width=2, no_wrap=True)
    table.add_column(no_wrap=True, overflow="ellipsis", max_width=56)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(overflow="fold")
    # One reason shared by every failed check (a stub, a missing function) is printed once.
    failing = [c for c in ex.checks if c.status in FAILING]
    said = {c.name: tr.message(c.message, c.message_key, c.message_args) for c in ex.checks}
    messages = {said[c.name] for c in failing}
    shared = next(iter(messages)) if len(messages) == 1 and len(failing) > 1 and \
        not any(c.status == "passed" for c in ex.checks) else None
    for c in ex.checks:
        style = STATUS_STYLE.get(c.status, "")
        name = Text((tr("report.hidden") if c.hidden else "") + c.name, style="" if c.status == "passed" else style)
        detail = timing_text(c.timing, tr) if c.kind == "timing" else \
            memory_text(c.memory, tr) if c.kind == "memory" else ""
        if c.status != "passed" and said[c.name] and said[c.name] != shared:
            detail = f"{detail}  {said[c.name]}".strip()
        table.add_row(Text(STATUS_MARK.get(c.status, "?"), style=style), name,
                      points(c.score, c.max_score), Text(detail, style="dim" if c.status == "passed" else ""))
    full = ex.max_score > 0 and ex.score == ex.max_score
    console.print()
    console.print(Text.assemble((view.title(ex), "bold"), f" [{ex.id}]  ",
                                (points(ex.score, ex.max_score), "green" if full else "yellow" if ex.score else "red")))
    if not ex.attempted:
        console.print(Text("  " + tr("report.not_started_detail"), style="dim"))
    elif ex.error:
        console.print(Text("  " + tr.message(ex.error, ex.message_key, ex.message_args), style="red"))
    elif shared:
        console.print(Text("  " + tr("report.every_failed_check", message=shared), style="red"))
    if ex.checks:
        console.print(table)
