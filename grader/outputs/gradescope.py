"""Gradescope's ``results.json`` from a Report (one test per check; hidden checks after publication)."""

from __future__ import annotations

import json
from pathlib import Path

from grader.outputs.files import atomic_write
from grader.grading.results import Report


def gradescope_dict(report: Report) -> dict:
    tests = []
    for ex in report.exercises:
        if ex.problem and not ex.checks:
            tests.append({"name": f"{ex.id}", "score": 0, "max_score": ex.max_score, "status": "failed",
                          "output": ex.problem, "visibility": "visible"})
        for c in ex.checks:
            output = c.message
            if c.timing:
                output = f"ratio {c.timing.get('ratio', 0):.2f}x, budget {c.timing.get('budget', 0):g}x. {output}"
            tests.append({
                "name": f"{ex.id}: {c.name}", "score": c.score, "max_score": c.max_score,
                "status": "passed" if c.status == "passed" else "failed", "output": output.strip(),
                "visibility": "after_published" if c.hidden else "visible",
                "tags": [ex.id, c.kind],
            })
    return {"score": report.score, "execution_time": report.duration_s, "output":
            f"{report.score:g}/{report.max_score:g} on {report.device} (grader {report.grader_version})",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def write_gradescope(report: Report, path: Path) -> None:
    atomic_write(path, json.dumps(gradescope_dict(report), indent=2) + "\n")
