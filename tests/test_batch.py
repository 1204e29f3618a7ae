"""``grade batch``: a class graded into reports, gradebook and Gradescope files; resumed after a stop.

The class holds one submission of each kind an instructor meets: correct, the untouched stub, a
plausible wrong answer, a correct .zip, a file that is not a zip, and a syntax error. Batches run
``-e sigmoid --no-timing`` so that the whole file stays under a couple of minutes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from conftest import ROOT
from grader.measure.cores import claim_core
from grader.batch.run import check_settings, digest, load_saved
from grader.cli import app
from grader.errors import GraderError
from grader.outputs.gradebook import Row, gradebook_csv, summarize, write_summary
from grader.grading.results import CheckResult, ExerciseResult, Report
from grader.batch.roster import find_students

SOLUTION = ROOT / "solutions" / "sigmoid" / "sigmoid.py"
STUB = ROOT / "exercises" / "sigmoid" / "sigmoid.py"
WRONG = ROOT / "tests" / "wrong_answers" / "sigmoid" / "clamps_extremes.py"
HANG = "import time\n\ndef sigmoid(x):\n    time.sleep(1000)\n"
ARGS = ["-e", "sigmoid", "--no-timing"]

# What each kind of submission must score ("full": sigmoid's maximum), and what its error cell says.
EXPECTED = {"alice": ("full", ""), "bob": ("0", ""), "dave": ("full", ""),
            "erin": ("0", "not a readable zip archive"), "frank": ("0", "SyntaxError")}


def _put(folder: Path, source: Path | str) -> None:
    (folder / "sigmoid").mkdir(parents=True, exist_ok=True)
    target = folder / "sigmoid" / "sigmoid.py"
    target.write_text(source if isinstance(source, str) else source.read_text())


def make_class(root: Path) -> Path:
    """A submissions folder with one student of each kind, plus entries that are no student."""
    root.mkdir(parents=True)
    _put(root / "alice", SOLUTION)                                   # correct
    _put(root / "bob", STUB)                                         # blank: the stub
    _put(root / "carol", WRONG)                                      # wrong on extreme inputs
    with zipfile.ZipFile(root / "dave.zip", "w") as z:               # zipped, in a wrapping folder
        z.write(SOLUTION, "dave-work/sigmoid/sigmoid.py")
    (root / "erin.zip").write_bytes(b"PK\x03\x04 this is not a zip archive at all")
    _put(root / "frank", "def sigmoid(x):\n    return (1 +\n")       # syntax error
    _put(root / ".draft", SOLUTION)                                  # hidden: ignored
    (root / "notes.txt").write_text("not a submission\n")            # not a folder, .zip or .ipynb: ignored
    return root


def read_gradebook(out: Path) -> tuple[list[str], dict[str, dict]]:
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
        f.seek(0)
        header = next(csv.reader(f))
    return header, {r["student"]: r for r in rows}


def mtimes(out: Path) -> dict[str, int]:
    return {p.stem: p.stat().st_mtime_ns for p in (out / "reports").glob("*.json")}


def batch(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["batch", *args], env={"COLUMNS": "120"})
    return result.exit_code, result.output


# Units: roster, gradebook, summary, cores -------------------------------------------------------

def test_find_students_names_each_folder_and_zip(tmp_path):
    folder = make_class(tmp_path / "class")
    (folder / "out").mkdir()
    students, ignored = find_students(folder, folder / "out")
    assert [s.name for s in students] == ["alice", "bob", "carol", "dave", "erin", "frank"]
    assert ignored == ["notes.txt"]
    assert students[3].path.name == "dave.zip"
    assert len({s.digest for s in students}) == 6  # different content, different digests
    (folder / "alice.zip").write_bytes(b"")
    with pytest.raises(GraderError, match="two submissions for student 'alice'"):
        find_students(folder, tmp_path / "out")


def _report(name: str, scores: dict[str, list[str]], error: dict | None = None) -> Report:
    """A report whose exercises have one 1-point check per status listed."""
    exercises = []
    for ex, statuses in scores.items():
        checks = tuple(CheckResult(f"c{i}", "correctness", i > 0, s, float(s == "passed"), 1.0,
                                   "" if s == "passed" else f"wrong {i}") for i, s in enumerate(statuses))
        exercises.append(ExerciseResult(ex, ex.title(), sum(c.score for c in checks), float(len(checks)),
                                        (error or {}).get(ex), checks))
    return Report(name, "cpu", "0", sum(e.score for e in exercises), sum(e.max_score for e in exercises),
                  "2025-01-01T00:00:00+00:00", 1.0, tuple(exercises))


def test_gradebook_rows_and_class_summary():
    p, f = "passed", "failed"
    rows = [Row("ann", _report("ann", {"a": [p, p, p], "b": [p, p]})),
            Row("ben", _report("ben", {"a": [p, f, f], "b": [f, f]})),
            Row("cat", _report("cat", {"a": [f, f, f], "b": [f, f]}, error={"a": "no a/a.py", "b": "no b/b.py"})),
            Row("dan", _report("dan", {"a": [p, f, p], "b": [f, f]}, error={"b": "no b/b.py"})),
            Row("eve", None, "the grader failed: boom")]
    text = gradebook_csv(rows, ["a", "b"])
    got = list(csv.reader(io.StringIO(text)))
    assert got == [["student", "score", "max_score", "a", "b", "error"],
                   ["ann", "5", "5", "3", "2", ""],
                   ["ben", "1", "5", "1", "0", ""],
                   ["cat", "0", "5", "0", "0", "a: no a/a.py; b: no b/b.py"],
                   ["dan", "2", "5", "2", "0", "b: no b/b.py"],
                   ["eve", "", "", "", "", "the grader failed: boom"]]
    s = summarize(rows)
    assert (s.students, s.graded, s.max_score) == (5, 4, 5.0)
    assert s.mean == pytest.approx(2.0) and s.median == pytest.approx(1.5)
    assert s.histogram == (1, 0, 1, 0, 1, 0, 0, 0, 0, 1)  # 0 %, 20 %, 40 %, 100 %
    # a was attempted by ann, ben and dan (cat's is missing): c1 failed by ben and dan (2/3);
    # b by ann and ben alone (cat's and dan's are missing): c0 and c1 failed by ben (1/2).
    top = [(c.exercise, c.check, c.failed, c.attempted) for c in s.most_failed]
    assert top == [("a", "c1", 2, 3), ("b", "c0", 1, 2), ("b", "c1", 1, 2), ("a", "c2", 1, 3)]
    console = Console(file=io.StringIO(), width=100, color_system=None)
    write_summary(s, console)
    out = console.file.getvalue()
    assert "4 of 5 students graded" in out and "mean 2/5 (40.0%)" in out and "median 1.5/5 (30.0%)" in out
    assert "   90–100% ██████████████████████████████ 1" in out
    assert "a: (hidden) c1" in out and "2/3 (67%)" in out
    assert "eve: the grader failed: boom" in out


def test_claim_core_gives_each_process_its_own_core(tmp_path):
    before = os.sched_getaffinity(0)
    claims = []
    try:
        for _ in range(len(before)):
            claims.append(claim_core(tmp_path))
            assert os.sched_getaffinity(0) == {claims[-1][0]}
            os.sched_setaffinity(0, before)  # the next claim looks at every core again
        assert sorted(c for c, _ in claims) == sorted(before)
        with pytest.raises(GraderError, match="no free core"):
            claim_core(tmp_path, wait_s=0.3)
        os.close(claims.pop()[1])  # a released core is free again
        assert claim_core(tmp_path, wait_s=0.3)[0] in before
    finally:
        os.sched_setaffinity(0, before)
        for _, fd in claims:
            os.close(fd)


# End to end --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """One local batch of the class with two trusted processes; its folders and output."""
    tmp = tmp_path_factory.mktemp("batch")
    folder, out = make_class(tmp / "class"), tmp / "out"
    code, output = batch(str(folder), "--out", str(out), "--workers", "2", *ARGS)
    return folder, out, code, output


def test_batch_grades_every_kind_of_submission(graded_class):
    folder, out, code, output = graded_class
    assert code == 0, output
    header, rows = read_gradebook(out)
    assert header == ["student", "score", "max_score", "sigmoid", "track:foundations %", "error"]
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "erin", "frank"]
    assert rows["alice"]["track:foundations %"] == "100.0"  # of the foundations points graded: sigmoid's
    full = rows["alice"]["max_score"]
    assert float(full) == 4.0  # sigmoid's weight (timing is off)
    for student, (score, error) in EXPECTED.items():
        score = full if score == "full" else score
        assert (rows[student]["score"], rows[student]["sigmoid"], rows[student]["max_score"]) == (score, score, full)
        assert error in rows[student]["error"] and bool(error) == bool(rows[student]["error"]), student
    assert 0 < float(rows["carol"]["score"]) < float(full)  # the wrong answer loses some points, not all
    for student in rows:
        report = json.loads((out / "reports" / f"{student}.json").read_text())
        assert report["schema"] == "grade-report/1" and report["submission"] == student
        assert report["score"] == float(rows[student]["score"])
        assert report["batch"]["submission_sha256"]
        gradescope = json.loads((out / "gradescope" / f"{student}.json").read_text())
        assert gradescope["score"] == report["score"] and gradescope["tests"]
    assert "Grading 6 of 6 students" in output and "notes.txt" in output
    mean = (2 * float(full) + float(rows["carol"]["score"])) / 6
    assert f"mean {mean:.4g}/{full}" in output and f"median {float(rows['carol']['score']) / 2:.4g}/{full}" in output
    assert "extreme_inputs_are_finite[float64]" in output  # failed by carol, the one wrong answer


def test_rerun_skips_graded_students_and_regrades_a_changed_one(graded_class, tmp_path):
    folder, out, _, _ = graded_class
    work = tmp_path / "out"
    shutil.copytree(out, work)
    first = mtimes(work)
    code, output = batch(str(folder), "--out", str(work), *ARGS)
    assert code == 0 and "all 6 students are already graded" in output, output
    assert mtimes(work) == first
    shutil.copytree(folder, tmp_path / "class")
    _put(tmp_path / "class" / "carol", SOLUTION)  # carol hands in a corrected answer
    code, output = batch(str(tmp_path / "class"), "--out", str(work), "--workers", "1", *ARGS)
    assert code == 0 and "Grading 1 of 6 students (5 already graded)" in output, output
    now = mtimes(work)
    assert [s for s in now if now[s] != first[s]] == ["carol"]
    carol = read_gradebook(work)[1]["carol"]
    assert carol["score"] == carol["max_score"]


def test_other_settings_are_refused_unless_forced(graded_class, tmp_path):
    folder, out, _, _ = graded_class
    work = tmp_path / "out"
    shutil.copytree(out, work)
    code, output = batch(str(folder), "--out", str(work), "-e", "sigmoid", "--timing")
    assert code == 2 and "other settings" in output and "timing False → True" in output, output
    saved = json.loads((work / "batch.json").read_text())["settings"]
    assert saved["timing"] is False
    # --force takes the new settings, after which no saved report matches them: everyone is regraded.
    forced = {**saved, "timing": True}
    check_settings(work, forced, force=True)
    assert json.loads((work / "batch.json").read_text())["settings"] == forced
    alice = json.loads((work / "reports" / "alice.json").read_text())["batch"]
    assert load_saved(work / "reports" / "alice.json", digest(saved), alice["submission_sha256"])
    assert load_saved(work / "reports" / "alice.json", digest(forced), alice["submission_sha256"]) is None


def _batch_process(folder: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "grader", "batch", str(folder), "--out", str(out),
                             "--workers", "1", *ARGS], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, env={**os.environ, "COLUMNS": "120"},
                            # Ctrl-C must reach it even where this test runs with SIGINT ignored.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_reports(out: Path, count: int, process: subprocess.Popen, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while (len(mtimes(out)) if (out / "reports").is_dir() else 0) < count:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the batch graded too slowly"
        time.sleep(0.2)
    time.sleep(0.5)  # the next student, the one that hangs, is in flight


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.getpgid(int(entry)) == pgid:
                alive.append(int(entry))
        except OSError:
            pass
    return alive


def test_stopped_batch_resumes_without_redoing_finished_students(tmp_path):
    """Ctrl-C, then a kill of the batch process, then the same command: each student graded once."""
    folder = tmp_path / "class"
    for name in ("amy", "ben"):
        _put(folder / name, SOLUTION)
    for name in ("yan", "zed"):  # graded last (names are sorted); they hang until stopped
        _put(folder / name, HANG)
    out = tmp_path / "out"

    # Ctrl-C while yan hangs: a terminal's Ctrl-C reaches the whole process group.
    process = _batch_process(folder, out)
    _wait_for_reports(out, 2, process)
    os.killpg(process.pid, signal.SIGINT)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 130, output
    assert "interrupted: 2 students not graded yet" in output
    assert read_gradebook(out)[1]["yan"]["error"] == "interrupted before it was graded"
    _wait_for_group_exit(process.pid)
    first = mtimes(out)
    assert sorted(first) == ["amy", "ben"]

    # yan is fixed; the batch process is killed (a crash, the OOM killer) while zed hangs.
    _put(folder / "yan", SOLUTION)
    process = _batch_process(folder, out)
    _wait_for_reports(out, 3, process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    _wait_for_group_exit(process.pid)  # the trusted process notices its parent's death and stops
    second = mtimes(out)
    assert sorted(second) == ["amy", "ben", "yan"] and {s: second[s] for s in first} == first
    assert not [p for p in (out / "reports").iterdir() if p.name.startswith(".")]  # no half-written file

    # zed is fixed; the same command finishes the batch and grades zed alone.
    _put(folder / "zed", SOLUTION)
    code, output = batch(str(folder), "--out", str(out), "--workers", "1", *ARGS)
    assert code == 0 and "Grading 1 of 4 students (3 already graded)" in output, output
    now = mtimes(out)
    assert {s: now[s] for s in second} == second  # finished students were not graded again
    rows = read_gradebook(out)[1]
    assert sorted(rows) == ["amy", "ben", "yan", "zed"]
    assert all(r["score"] == r["max_score"] and not r["error"] for r in rows.values()), rows


def _wait_for_group_exit(pgid: int, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _group_alive(pgid), "processes of the stopped batch are still running"


def test_ray_backend_gives_identical_results(graded_class, tmp_path):
    pytest.importorskip("ray")
    folder, out, _, _ = graded_class
    code, output = batch(str(folder), "--out", str(tmp_path / "ray"), "--backend", "ray", "--workers", "2", *ARGS)
    assert code == 0, output
    assert "2 Ray actors on" in output
    assert (tmp_path / "ray" / "gradebook.csv").read_text() == (out / "gradebook.csv").read_text()
    for report in (out / "reports").glob("*.json"):
        local, ray = json.loads(report.read_text()), json.loads((tmp_path / "ray" / "reports" / report.name).read_text())
        strip = lambda d: [[(c["name"], c["status"], c["score"], c["message"]) for c in e["checks"]]  # noqa: E731
                           for e in d["exercises"]]
        assert strip(local) == strip(ray), report.stem
