"""The `grade` command end to end through typer's CliRunner, and the console report rendered to text."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys

from rich.console import Console
from typer.testing import CliRunner

from conftest import ROOT
from grader.cli import app
from grader.outputs.console import write_console
from grader.grading.results import CheckResult, ExerciseResult, Report, report_from_dict

runner = CliRunner()
REPORT_KEYS = {"schema", "submission", "device", "grader_version", "score", "max_score", "started_at",
               "duration_s", "exercises"}
EXERCISE_KEYS = {"id", "title", "score", "max_score", "error", "checks", "track", "attempted"}
CHECK_KEYS = {"name", "kind", "hidden", "status", "score", "max_score", "message", "duration_s", "timing"}


def test_list_shows_tracks_in_order(course):
    result = runner.invoke(app, ["--course", str(ROOT), "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    positions = [result.output.index(f" {e.id} ") for e in course.exercises]
    assert positions == sorted(positions)
    assert "foundations" in result.output


def test_solutions_full_marks_and_json_schema(tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["--course", str(ROOT), "-s", str(ROOT / "solutions"), "-e", "sigmoid",
                                 "--no-timing", "--json", str(out)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert REPORT_KEYS <= data.keys() and data["schema"] == "grade-report/1"
    assert data["device"] == "cpu" and data["score"] == data["max_score"] > 0
    for ex in data["exercises"]:
        assert EXERCISE_KEYS <= ex.keys()
        for c in ex["checks"]:
            assert CHECK_KEYS <= c.keys()
            assert c["status"] in ("passed", "failed", "error", "timeout", "skipped")
    assert report_from_dict(data).score == data["score"]
    assert "Total" in result.output and "100.0%" in result.output


def test_stub_scores_zero_with_reason(tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["--course", str(ROOT), "-e", "sigmoid", "--no-timing", "--json", str(out)],
                           env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["score"] == 0 and data["max_score"] > 0
    (sigmoid,) = data["exercises"]
    assert sigmoid["attempted"] is False and sigmoid["checks"] == [] and sigmoid["error"] is None
    assert "not started" in result.output and "your working copy (exercises/)" in result.output


def test_absent_exercise_scores_zero_with_plain_reason(tmp_path):
    sub = tmp_path / "sub"
    (sub / "unrelated").mkdir(parents=True)
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["--course", str(ROOT), "-s", str(sub), "-e", "sigmoid", "--no-timing",
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    ex = json.loads(out.read_text())["exercises"][0]
    assert ex["score"] == 0 and ex["max_score"] > 0 and ex["attempted"] is False and ex["checks"] == []


def test_unknown_exercise_is_a_grader_error():
    result = runner.invoke(app, ["--course", str(ROOT), "-e", "no_such_exercise"])
    assert result.exit_code == 2
    assert "unknown exercise 'no_such_exercise'" in result.output


def test_bad_device_is_a_grader_error():
    result = runner.invoke(app, ["--course", str(ROOT), "--device", "tpu"])
    assert result.exit_code == 2
    assert "invalid device 'tpu'" in result.output


def test_missing_submission_is_a_grader_error(tmp_path):
    result = runner.invoke(app, ["--course", str(ROOT), "-s", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_zip_submission_is_graded(tmp_path):
    archive = shutil.make_archive(str(tmp_path / "work"), "zip", root_dir=ROOT / "solutions", base_dir="sigmoid")
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["--course", str(ROOT), "-s", archive, "-e", "sigmoid", "--no-timing",
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["score"] == data["max_score"] > 0


def _report() -> Report:
    checks = (
        CheckResult("worked_example", "correctness", False, "passed", 1, 1),
        CheckResult("values", "correctness", False, "failed", 0, 2, "result has wrong values: 3 of 12 entries"),
        CheckResult("dtypes", "correctness", True, "failed", 0, 1, "result has the wrong dtype"),
        CheckResult("speed", "timing", False, "skipped", 0, 1, "scored only when every correctness check passes"),
    )
    ex = ExerciseResult("sigmoid", "Sigmoid", 1, 5, None, checks)
    return Report("work", "cpu", "0.1.0", 1, 5, "2026-01-01T00:00:00+00:00", 1.5, (ex,), ("pid-ns",))


def test_console_report_shows_points_reasons_and_total():
    buf = io.StringIO()
    write_console(_report(), Console(file=buf, width=120, color_system=None))
    text = buf.getvalue()
    assert "Sigmoid [sigmoid]  1/5" in text
    assert "✓   worked_example" in text and "1/1" in text
    assert "result has wrong values: 3 of 12 entries" in text
    assert "(hidden) dtypes" in text and "result has the wrong dtype" in text
    assert "Total 1/5  (20.0%)" in text


def test_console_first_screen_is_one_line_per_exercise_by_track():
    checks = (CheckResult("worked_example", "correctness", False, "passed", 1, 1),
              CheckResult("values", "correctness", True, "failed", 0, 1, "result has wrong values"))
    exercises = (
        ExerciseResult("sigmoid", "Sigmoid", 2, 2, None, checks[:1], track="foundations"),
        ExerciseResult("bce_loss", "Binary cross-entropy", 1, 2, None, checks, track="foundations"),
        ExerciseResult("adam", "Adam step", 0, 9, None, (), track="foundations", attempted=False),
        ExerciseResult("softmax", "Softmax", 0, 6, "importing softmax/softmax.py failed: SyntaxError: x",
                       (), track="large-models"),
    )
    report = Report("your working copy (exercises/)", "cpu", "0.1.0", 3, 19, "2026-01-01T00:00:00+00:00", 0.4,
                    exercises)
    buf = io.StringIO()
    write_console(report, Console(file=buf, width=120, color_system=None))
    text = buf.getvalue()
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0].startswith("Grading your working copy (exercises/) on cpu: 4 exercises")
    assert any("Foundations" in line and "3/13" in line and "2 of 3 started" in line for line in lines)
    assert any("Large models" in line and "0/6" in line and "1 of 1 started" in line for line in lines)
    assert any("Sigmoid" in line and "sigmoid" in line and "2/2" in line and "passing" in line for line in lines)
    assert any("bce_loss" in line and "1/2" in line and "failing 1 of 2" in line for line in lines)
    assert any("adam" in line and "0/9" in line and "not started" in line for line in lines)
    assert any("softmax" in line and "cannot be graded" in line for line in lines)
    # Check tables only for what was attempted and is not fully passed: bce_loss and softmax.
    assert "Binary cross-entropy [bce_loss]" in text and "Softmax [softmax]" in text
    assert "importing softmax/softmax.py failed: SyntaxError: x" in text
    assert "Sigmoid [sigmoid]" not in text and "Adam step [adam]" not in text
    buf = io.StringIO()
    write_console(report, Console(file=buf, width=120, color_system=None), verbose=True, named=("adam",))
    assert "Sigmoid [sigmoid]" in buf.getvalue() and "Adam step [adam]" in buf.getvalue()
    assert "Total 3/19  (15.8%)" in text


# The console script: it leaves without the interpreter's teardown (grader/cli.py: run, leave) ------

def test_the_command_in_its_own_process_exits_with_its_code_and_all_its_output(tmp_path):
    """`python -m grader` exits through ``leave``: the report is complete on a pipe, the JSON is
    written, and the exit code is the command's, for a graded run and for a grader error alike."""
    out = tmp_path / "r.json"
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(ROOT), "-s", str(ROOT / "solutions"),
                           "-e", "sigmoid", "--no-timing", "--json", str(out), "--fail-under", "100"],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Total" in done.stdout and done.stdout.rstrip().endswith("scrubbed-env")
    assert json.loads(out.read_text())["score"] > 0
    bad = subprocess.run([sys.executable, "-m", "grader", "--course", str(ROOT), "-e", "no_such_exercise"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown exercise 'no_such_exercise'" in bad.stderr


LEAVE = """
import atexit, sys, threading, time
from grader.cli import leave
atexit.register(lambda: print("exit handler ran", flush=False))
threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished"))).start()
print("buffered", end=" ")
sys.stderr.write("on stderr")
leave(CODE)
"""


def test_leave_runs_exit_handlers_joins_threads_and_flushes_before_it_exits():
    done = subprocess.run([sys.executable, "-c", LEAVE.replace("CODE", "3")], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 3
    assert done.stdout.split() == ["buffered", "thread", "finished", "exit", "handler", "ran"]
    assert done.stderr == "on stderr"
    traced = subprocess.run([sys.executable, "-c", "import sys; sys.settrace(lambda *a: None)\n" + LEAVE.replace("CODE", "4")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert traced.returncode == 4 and traced.stdout.split()[-3:] == ["exit", "handler", "ran"]
