"""Report writers for CI: JUnit XML (one testcase per check) and a Markdown summary table.

JUnit XML is for machines and stays English; the Markdown summary is for people and speaks the
report's language (``--lang``).

Like every writer they only render a Report; the one number they derive, :func:`percent`, is the
share of points earned among the checks that ran, which ``--fail-under`` compares with its threshold.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Mapping

from grader.outputs.files import atomic_write
from grader.grading.results import Report
from grader.messages import Translator

ENGLISH = Translator("en")
STATUS_KEYS = {"passed": "status.passed", "failed": "status.failed", "error": "status.error",
               "timeout": "status.timeout", "skipped": "status.skipped"}

FAILURE_STATUSES = ("failed", "timeout")


def percent(report: Report) -> float:
    """Points earned as a share of the points of the checks that ran (skipped ones are left out).

    A check skips where it cannot run here (a CUDA-only check on a CPU machine) or is graded
    elsewhere (a hidden check in a student release); an exercise that could not be graded at all
    counts its full points as lost.
    """
    earned = possible = 0.0
    for ex in report.exercises:
        ran = [c for c in ex.checks if c.status != "skipped"]
        earned += sum(c.score for c in ran)
        possible += sum(c.max_score for c in ran) if ex.checks else ex.max_score
    if possible == 0:
        return 100.0 if report.max_score == 0 else 0.0
    return 100.0 * earned / possible


# JUnit XML ------------------------------------------------------------------------------------

def junit_tree(report: Report) -> ET.ElementTree:
    """``<testsuites>`` with one ``<testsuite>`` per exercise and one ``<testcase>`` per check."""
    suites = ET.Element("testsuites", name=f"grade {report.submission}", time=f"{report.duration_s:.3f}")
    totals = dict(tests=0, failures=0, errors=0, skipped=0)
    for ex in report.exercises:
        suite = ET.SubElement(suites, "testsuite", name=ex.id)
        counts = dict(tests=0, failures=0, errors=0, skipped=0)
        props = ET.SubElement(suite, "properties")
        for key, value in (("title", ex.title), ("score", f"{ex.score:g}"), ("max_score", f"{ex.max_score:g}")):
            ET.SubElement(props, "property", name=key, value=value)
        if ex.problem and not ex.checks:
            case = ET.SubElement(suite, "testcase", classname=ex.id, name="(exercise)", time="0")
            ET.SubElement(case, "failure", message=ex.problem, type="error").text = ex.problem
            counts["tests"] += 1
            counts["failures"] += 1
        for c in ex.checks:
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=ex.id, name=("(hidden) " if c.hidden else "") + c.name,
                                 time=f"{c.duration_s:.3f}")
            case_props = ET.SubElement(case, "properties")
            for key, value in (("kind", c.kind), ("points", f"{c.max_score:g}"), ("score", f"{c.score:g}")):
                ET.SubElement(case_props, "property", name=key, value=value)
            message = c.message or c.status
            if c.status in FAILURE_STATUSES:
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=message, type=c.status).text = message
            elif c.status == "error":
                counts["errors"] += 1
                ET.SubElement(case, "error", message=message, type="error").text = message
            elif c.status == "skipped":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=message)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{sum(c.duration_s for c in ex.checks):.3f}")
    for key, value in totals.items():
        suites.set(key, str(value))
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit(report: Report, path: Path) -> None:
    text = ET.tostring(junit_tree(report).getroot(), encoding="unicode", xml_declaration=False)
    atomic_write(path, '<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n")


# Markdown -------------------------------------------------------------------------------------

def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown_summary(report: Report, fail_under: float | None = None, tr: Translator = ENGLISH,
                     titles: Mapping[str, str] | None = None) -> str:
    """A summary for a CI step: the total, one row per exercise, then the checks that did not pass.

    Fixed words come from the catalogue in ``tr``'s language; ``titles``: the exercises' titles in it.
    """
    titles = titles or {}
    pct = percent(report)
    verdict = ""
    if fail_under is not None:
        verdict = tr("markdown.passes_threshold" if pct >= fail_under else "markdown.fails_threshold",
                     threshold=fail_under)
    lines = [tr("markdown.heading", submission=_cell(report.submission)), "",
             tr("markdown.total", score=report.score, max_score=report.max_score, percent=pct, verdict=verdict,
                device=report.device, version=report.grader_version, seconds=report.duration_s), "",
             tr("markdown.table_header"), "|---|---:|---:|---:|"]
    failing = []
    for ex in report.exercises:
        passed = sum(c.status == "passed" for c in ex.checks)
        not_passed = [c for c in ex.checks if c.status not in ("passed", "skipped")]
        mark = "✅" if ex.max_score > 0 and ex.score == ex.max_score else ("❌" if not ex.score else "🟡")
        lines.append(f"| {mark} `{ex.id}` {_cell(titles.get(ex.id, ex.title))} | {ex.score:g}/{ex.max_score:g} | "
                     f"{passed} | {len(not_passed) + (1 if ex.problem and not ex.checks else 0)} |")
        if ex.problem:
            problem = tr.message(ex.problem, ex.message_key, ex.message_args)
            failing.append(f"- `{ex.id}`: {_cell(problem)}")
        failing += [f"- `{ex.id}` {tr('report.hidden') if c.hidden else ''}{_cell(c.name)} — "
                    f"{tr(STATUS_KEYS[c.status])}: {_cell(tr.message(c.message, c.message_key, c.message_args))}"
                    for c in not_passed]
    if failing:
        lines += ["", f"<details><summary>{tr('markdown.not_passed')}</summary>", "", *failing, "", "</details>"]
    return "\n".join(lines) + "\n"


def write_markdown(report: Report, path: Path, fail_under: float | None = None, tr: Translator = ENGLISH,
                   titles: Mapping[str, str] | None = None) -> None:
    atomic_write(path, markdown_summary(report, fail_under, tr, titles))


def write_ci_outputs(report: Report, *, junit: Path | None = None, gradescope: Path | None = None,
                     markdown: Path | None = None, fail_under: float | None = None, tr: Translator = ENGLISH,
                     titles: Mapping[str, str] | None = None) -> None:
    """Write whichever of the JUnit, Gradescope and Markdown files were asked for."""
    if junit:
        write_junit(report, junit)
    if gradescope:
        from grader.outputs.gradescope import write_gradescope

        write_gradescope(report, gradescope)
    if markdown:
        write_markdown(report, markdown, fail_under, tr, titles)
