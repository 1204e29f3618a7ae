"""A class's gradebook (CSV) and summary (mean, median, distribution, most-failed checks) from Reports.

Everything here is built from saved reports alone, so a resumed batch rebuilds exactly what one
uninterrupted run would have written. Nothing here grades.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.outputs.files import atomic_write
from grader.grading.results import ExerciseResult, Report, track_totals

BINS = 10  # the distribution's bars: 0-9 %, 10-19 %, ..., 90-100 %
BAR_WIDTH = 30


@dataclass(frozen=True)
class Row:
    """One student's line: a Report, or the reason there is none (the grader could not grade it)."""

    student: str
    report: Report | None
    error: str | None = None


@dataclass(frozen=True)
class FailedCheck:
    exercise: str
    check: str
    hidden: bool
    failed: int
    attempted: int  # students who attempted the exercise (see attempted) and so ran this check


@dataclass(frozen=True)
class ClassSummary:
    students: int
    graded: int
    max_score: float
    mean: float | None
    median: float | None
    histogram: tuple[int, ...]  # counts per BINS bin of percent of max score
    most_failed: tuple[FailedCheck, ...]
    not_graded: tuple[tuple[str, str], ...]  # (student, reason)


def exercise_problem(report: Report, exercise_id: str) -> str | None:
    """Why an exercise could not be judged: its error, or the one reason every check failed for.

    A stub's "not implemented yet" is a score of zero, not a problem, and is left out.
    """
    ex = report.exercise(exercise_id)
    if ex.error:
        return ex.error
    ran = [c for c in ex.checks if c.status != "skipped"]
    messages = {c.message for c in ran}
    if ran and len(messages) == 1 and all(c.status != "passed" for c in ran):
        message = messages.pop()
        if message and "NotImplementedError" not in message:
            return message
    return None


def attempted(ex: ExerciseResult) -> bool:
    """Submitted, readable, and not the untouched stub (nor graded as one: every check "not implemented yet")."""
    return ex.attempted and ex.error is None and not all("NotImplementedError" in c.message for c in ex.checks
                                                         if c.status != "skipped")


def error_text(report: Report) -> str:
    """The gradebook's ``error`` cell: one reason when every exercise shares it, else ``id: reason`` each."""
    problems = {e.id: exercise_problem(report, e.id) for e in report.exercises}
    found = {k: v for k, v in problems.items() if v}
    if not found:
        return ""
    if len(report.exercises) == 1 or (len(found) == len(report.exercises) and len(set(found.values())) == 1):
        return next(iter(found.values()))
    return "; ".join(f"{k}: {v}" for k, v in found.items())


def tracks_of(rows: list[Row]) -> list[str]:
    """The tracks the rows' reports name, in the order they first appear."""
    found: dict[str, None] = {}
    for row in rows:
        if row.report is not None:
            found.update((t.track, None) for t in track_totals(row.report))
    return list(found)


def gradebook_csv(rows: list[Row], exercise_ids: list[str], certificates: dict[str, str] | None = None) -> str:
    """CSV text, one line per student: student, score, max_score, one column per exercise, one per
    track (``track:<name> %``, the share of that track's points), ``certificate`` when certificates
    were decided (what was certified, or why not), and error."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    tracks = tracks_of(rows)
    extra = ["certificate"] if certificates is not None else []
    writer.writerow(["student", "score", "max_score", *exercise_ids, *(f"track:{t} %" for t in tracks), *extra,
                     "error"])
    for row in rows:
        cert = [certificates.get(row.student, "")] if certificates is not None else []
        if row.report is None:
            writer.writerow([row.student, "", "", *([""] * (len(exercise_ids) + len(tracks))), *cert,
                             row.error or "not graded"])
            continue
        scores = {e.id: e.score for e in row.report.exercises}
        percents = {t.track: f"{t.percent:.1f}" for t in track_totals(row.report)}
        writer.writerow([row.student, f"{row.report.score:g}", f"{row.report.max_score:g}",
                         *(f"{scores[i]:g}" if i in scores else "" for i in exercise_ids),
                         *(percents.get(t, "") for t in tracks), *cert, error_text(row.report)])
    return out.getvalue()


def write_gradebook(rows: list[Row], exercise_ids: list[str], path: Path,
                    certificates: dict[str, str] | None = None) -> None:
    atomic_write(path, gradebook_csv(rows, exercise_ids, certificates))


def summarize(rows: list[Row], top: int = 5) -> ClassSummary:
    """Scores and the checks failed by the largest share of the students who attempted the exercise."""
    reports = [r.report for r in rows if r.report is not None]
    max_score = max((r.max_score for r in reports), default=0.0)
    scores = [r.score for r in reports]
    histogram = [0] * BINS
    for r in reports:
        fraction = r.score / r.max_score if r.max_score else 0.0
        histogram[min(int(fraction * BINS), BINS - 1)] += 1
    failed: Counter = Counter()
    tried: Counter = Counter()
    hidden: dict = {}
    for r in reports:
        for ex in r.exercises:
            if not attempted(ex):  # its failures say nothing about the check
                continue
            for c in ex.checks:
                if c.status == "skipped":
                    continue
                key = (ex.id, c.name)
                hidden[key] = c.hidden
                tried[key] += 1
                failed[key] += c.status != "passed"
    ranked = sorted((k for k in failed if failed[k]), key=lambda k: (-failed[k] / tried[k], -failed[k], k))
    most = tuple(FailedCheck(k[0], k[1], hidden[k], failed[k], tried[k]) for k in ranked[:top])
    return ClassSummary(
        students=len(rows), graded=len(reports), max_score=max_score,
        mean=statistics.fmean(scores) if scores else None, median=statistics.median(scores) if scores else None,
        histogram=tuple(histogram), most_failed=most,
        not_graded=tuple((r.student, r.error or "not graded") for r in rows if r.report is None))


def _score(value: float, max_score: float) -> str:
    pct = 100.0 * value / max_score if max_score else 0.0
    return f"{value:.4g}/{max_score:g} ({pct:.1f}%)"


def write_summary(summary: ClassSummary, console: Console) -> None:
    """The instructor's view of a class: scores, a text histogram, the most-failed checks."""
    console.print(Text.assemble(("Class summary", "bold"),
                                f"  {summary.graded} of {summary.students} students graded"))
    if summary.mean is not None:
        console.print(f"  mean {_score(summary.mean, summary.max_score)}   "
                      f"median {_score(summary.median, summary.max_score)}")
        console.print("  distribution (% of the maximum score):")
        peak = max(summary.histogram) or 1
        for i, count in enumerate(summary.histogram):
            low, high = i * 100 // BINS, (i + 1) * 100 // BINS - (0 if i == BINS - 1 else 1)
            bar = "█" * round(BAR_WIDTH * count / peak) if count else ""
            console.print(Text.assemble(f"  {f'{low}–{high}%':>8} ", (f"{bar:<{BAR_WIDTH}}", "cyan"), f" {count}"))
    if summary.most_failed:
        console.print("  checks most students failed (of those who attempted the exercise):")
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=60)
        table.add_column(justify="right", no_wrap=True)
        for f in summary.most_failed:
            name = f"{f.exercise}: {'(hidden) ' if f.hidden else ''}{f.check}"
            table.add_row(Text(f"    {name}"), Text(f"{f.failed}/{f.attempted} ({100 * f.failed / f.attempted:.0f}%)"))
        console.print(table)
    if summary.not_graded:
        console.print(Text(f"  {len(summary.not_graded)} not graded:", style="red"))
        for student, reason in summary.not_graded[:10]:
            console.print(Text(f"    {student}: {reason}", style="red"))
        if len(summary.not_graded) > 10:
            console.print(Text(f"    … and {len(summary.not_graded) - 10} more (see the gradebook)", style="red"))
