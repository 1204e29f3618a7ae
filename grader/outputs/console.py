"""The rich console report. Writers never score: they render a Report as it is."""

from __future__ import annotations


from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.grading.results import Report

STATUS_STYLE = {"passed": "green", "failed": "red", "error": "magenta", "timeout": "yellow", "skipped": "dim"}
STATUS_MARK = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "⏱", "skipped": "–"}


def _points(score: float, max_score: float) -> str:
    return f"{score:g}/{max_score:g}"


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


def write_console(report: Report, console: Console, verbose: bool = False) -> None:
    """Per exercise, each check with points and status; reasons for failed public checks; a total."""
    console.print(Text.assemble(("Grading ", "bold"), (report.submission, "bold cyan"),
                                f"  on {report.device}  (grader {report.grader_version})"))
    for ex in report.exercises:
        table = Table(show_header=False, box=None, pad_edge=False, expand=False)
        table.add_column(width=2, no_wrap=True)
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=56)
        table.add_column(justify="right", no_wrap=True)
        table.add_column(overflow="fold")
        # One reason shared by every failed check (a stub, a missing function) is printed once.
        failing = [c for c in ex.checks if c.status in ("failed", "error", "timeout")]
        messages = {c.message for c in failing}
        shared = next(iter(messages)) if len(messages) == 1 and len(failing) > 1 and \
            not any(c.status == "passed" for c in ex.checks) else None
        for c in ex.checks:
            style = STATUS_STYLE.get(c.status, "")
            name = Text(("(hidden) " if c.hidden else "") + c.name, style="" if c.status == "passed" else style)
            detail = ""
            if c.kind == "timing":
                detail = timing_text(c.timing)
            elif c.kind == "memory":
                detail = memory_text(c.memory)
            if c.status != "passed" and c.message and c.message != shared:
                detail = f"{detail}  {c.message}".strip()
            table.add_row(Text(STATUS_MARK.get(c.status, "?"), style=style), name,
                          _points(c.score, c.max_score), Text(detail, style="dim" if c.status == "passed" else ""))
        full = ex.max_score > 0 and ex.score == ex.max_score
        head_style = "green" if full else ("yellow" if ex.score > 0 else "red")
        console.print()
        console.print(Text.assemble((f"{ex.title}", "bold"), f" [{ex.id}]  ",
                                    (_points(ex.score, ex.max_score), head_style)))
        if ex.error:
            console.print(Text(f"  {ex.error}", style="red"))
        elif shared:
            console.print(Text(f"  every failed check: {shared}", style="red"))
        if ex.checks:
            console.print(table)
    console.print()
    pct = 100.0 * report.score / report.max_score if report.max_score else 0.0
    console.print(Text.assemble(("Total ", "bold"), (_points(report.score, report.max_score), "bold"),
                                f"  ({pct:.1f}%)  in {report.duration_s:.1f} s"))
    if report.isolation:
        console.print(Text("isolation: " + ", ".join(report.isolation), style="dim"))
