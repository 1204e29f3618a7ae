"""The course lifecycle: release, submit, new, and the CI outputs of ``grade``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from grader.outputs.ci import junit_tree, markdown_summary, percent
from grader.cli import app
from grader.course.discover import load_course
from grader.errors import GraderError
from grader.lifecycle.leaks import find_leaks, secret_lines
from grader.course.withheld import MANIFEST, NOT_RUN
from grader.grading.inventory import collect
from grader.grading.runner import not_run_results
from grader.lifecycle.release import build_release
from grader.grading.results import CheckResult, ExerciseResult, Report
from grader.lifecycle.scaffold import MARKER, new_exercise
from grader.lifecycle.submit import MANIFEST as SUBMISSION_MANIFEST, pack_submission, read_manifest

# sigmoid alone, plus an exercise that depends on another when the course has one (the release adds
# dependencies on its own); the whole course is released by its own test below.
PART = ["sigmoid"]


def _dependent_exercise() -> list[str]:
    course = load_course(ROOT)
    return [e.id for e in course.exercises if e.depends][:1]


@pytest.fixture(scope="module")
def part_release(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "student-copy"
    return build_release(course_dir=ROOT, out=out, exercises=PART + _dependent_exercise())


def _copy_course(dest: Path, exercises: list[str]) -> Path:
    """A small course in ``dest``: the repository's pyproject and some of its exercises and answers."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    shutil.copy(ROOT / "constraints.txt", dest / "constraints.txt")
    for e in exercises:
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / "exercises" / e, dest / "exercises" / e, ignore=ignore)
        shutil.copytree(ROOT / "solutions" / e, dest / "solutions" / e, ignore=ignore)
    return dest


# Release --------------------------------------------------------------------------------------

def test_release_holds_what_students_need_and_nothing_hidden(part_release):
    out = part_release.out
    course = load_course(ROOT)
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    for e in part_release.exercises:
        exercise = course.get(e)
        for name in ("README.md", "exercise.toml", f"{e}.py", MANIFEST):
            assert f"exercises/{e}/{name}" in files
        for check in exercise.public_checks:
            assert f"exercises/{e}/{check.name}" in files
        assert (out / "exercises" / e / f"{e}.py").read_bytes() == exercise.stub.read_bytes()
    for name in ("pyproject.toml", "constraints.txt", "README.md", "grader/cli.py", "grader/grading/pytest-grade.ini"):
        assert name in files
    assert not [f for f in files if f.startswith(("solutions/", "tests/")) or "/test_hidden" in f
                or "wrong_answers" in f or "__pycache__" in f]
    grade_settings = tomllib.loads((out / "pyproject.toml").read_text())["tool"]["grade"]
    assert grade_settings["release"] is True
    assert grade_settings["course_id"] == course.id


def test_release_adds_dependencies():
    dependent = _dependent_exercise()
    if not dependent:
        pytest.skip("no exercise of the course depends on another")
    from grader.lifecycle.release import with_dependencies

    course = load_course(ROOT)
    kept = {e.id for e in with_dependencies(course, dependent).exercises}
    assert set(course.get(dependent[0]).depends) <= kept and dependent[0] in kept


def test_manifest_names_every_withheld_check_with_its_points(part_release, grader):
    released = load_course(part_release.out)
    original = load_course(ROOT)
    inventory = collect(original, tuple(original.get(e) for e in part_release.exercises))
    for e in released.exercises:
        listed = {(r.name, r.kind, r.max_score, r.status, r.message) for r in not_run_results(e)}
        # Their own points (before an exercise's weight shares out), as the checks declare them.
        hidden = {(c.name, c.kind, c.points, "skipped", NOT_RUN) for c in inventory.checks[e.id] if c.hidden}
        # Timing checks timed against grader/measure/baselines/ are withheld too, with their points.
        private = {(t.get("name") or f"timing_{t['function']}", "timing", float(t.get("points", 1)), "skipped",
                    NOT_RUN)
                   for t in original.get(e.id).timing if str(t["baseline"]).startswith("grader.measure.baselines.")}
        assert hidden and listed == hidden | private
        assert not [t for t in e.timing if str(t["baseline"]).startswith("grader.measure.baselines.")]


def test_release_contains_no_line_of_any_solution(part_release):
    assert find_leaks(ROOT / "solutions", list(part_release.exercises), part_release.out) == []


def test_grade_runs_in_the_release_and_lists_hidden_checks_as_not_run(part_release, tmp_path):
    out = tmp_path / "student"
    shutil.copytree(part_release.out, out)
    for e in part_release.exercises:  # a student who has written every answer
        shutil.copy(ROOT / "solutions" / e / f"{e}.py", out / "exercises" / e / f"{e}.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADE_", "PYTEST_"))}
    env["PYTHONPATH"] = str(out)  # the release's own grader package, not this checkout's
    report_path = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-c", "import grader, sys; print('GRADER', grader.__file__); sys.argv[0] = 'grade'; "
         "from grader.cli import run; run()", "--json", str(report_path), "--no-timing", "-v"],
        cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"GRADER {out / 'grader' / '__init__.py'}" in proc.stdout
    report = json.loads(report_path.read_text())
    released, original = load_course(out), load_course(ROOT)
    assert {e["id"] for e in report["exercises"]} == set(part_release.exercises)
    for e in report["exercises"]:
        withheld = {r.name: r.kind for r in not_run_results(released.get(e["id"]))}
        checks = {c["name"]: c for c in e["checks"]}
        # Worth their points; a withheld timing check, like any timing check, nothing with --no-timing.
        assert withheld and all(checks[name]["status"] == "skipped" and checks[name]["message"] == NOT_RUN
                                and (checks[name]["max_score"] > 0) == (kind != "timing")
                                for name, kind in withheld.items())
        assert all(c["name"] in withheld for c in e["checks"] if c["hidden"])
        public = [c for c in e["checks"] if c["kind"] == "correctness" and not c["hidden"]]
        assert public and all(c["status"] == "passed" for c in public)
        assert e["max_score"] == pytest.approx(sum(c["max_score"] for c in e["checks"]))
        # The release shares the weight out over the same checks as the course: the scale is the same.
        weight = original.get(e["id"]).weight
        assert sum(c["max_score"] for c in e["checks"] if c["kind"] == "correctness") == pytest.approx(weight)
    assert NOT_RUN in proc.stdout


@pytest.mark.slow
def test_release_builds_as_a_package(part_release, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(part_release.out)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and "No module named" in proc.stderr:
        pytest.skip(f"pip or setuptools is missing here: {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "grader/cli.py" in names and "grader/grading/pytest-grade.ini" in names


def test_release_of_the_whole_course_gives_nothing_away(tmp_path):
    """The contract on the real course: a refused release names each leak (file and line)."""
    out = tmp_path / "all"
    try:
        r = build_release(course_dir=ROOT, out=out)
    except GraderError as exc:
        pytest.fail(str(exc))
    assert set(r.exercises) == {e.id for e in load_course(ROOT).exercises}
    assert find_leaks(ROOT / "solutions", list(r.exercises), out) == []


def test_release_refuses_a_statement_that_shows_the_answer(tmp_path):
    course = _copy_course(tmp_path / "course", ["sigmoid"])
    readme = course / "exercises" / "sigmoid" / "README.md"
    readme.write_text(readme.read_text() + "\n```python\n    return 1.0 / (1.0 + torch.exp(-x))\n```\n")
    with pytest.raises(GraderError, match=r"solutions/sigmoid/sigmoid.py:\d+ .* exercises/sigmoid/README.md:\d+"):
        build_release(course_dir=course, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # nothing half-written left


def test_release_refuses_an_occupied_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(GraderError, match="not an empty folder"):
        build_release(course_dir=ROOT, out=tmp_path / "out", exercises=["sigmoid"])
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_secret_lines_leave_out_docstrings_comments_and_the_public_api():
    solution = '"""Reference."""\nimport torch\n\n\ndef f(x: torch.Tensor) -> torch.Tensor:\n' \
               '    """Doc line that is long enough to count."""\n    # a long comment that is not code at all\n' \
               '    shifted = x - x.amax(dim=-1, keepdim=True)\n    return shifted\n'
    stub = 'def f(x: torch.Tensor) -> torch.Tensor:\n    """Doc."""\n'
    assert [text for _, text in secret_lines(solution, stub)] == ["shifted = x - x.amax(dim=-1, keepdim=True)"]


# Submit -----------------------------------------------------------------------------------------

def test_submit_packs_exercise_files_and_a_manifest(tmp_path):
    work = tmp_path / "work"
    shutil.copytree(ROOT / "solutions" / "sigmoid", work / "sigmoid")
    (work / "sigmoid" / "helpers.py").write_text('"""A helper module of the student\'s."""\nK = 1\n')
    (work / "sigmoid" / "test_mine.py").write_text("def test_x():\n    pass\n")
    (work / "sigmoid" / "README.md").write_text("# notes\n")
    (work / "sigmoid" / "__pycache__").mkdir()
    (work / "sigmoid" / "__pycache__" / "sigmoid.cpython-311.pyc").write_bytes(b"\0")
    packed = pack_submission(course_dir=ROOT, out=tmp_path / "hand-in.zip", source=work, exercises=["sigmoid"])
    names = set(zipfile.ZipFile(packed.out).namelist())
    assert names == {SUBMISSION_MANIFEST, "sigmoid/sigmoid.py", "sigmoid/helpers.py"}
    manifest = read_manifest(packed.out)
    assert manifest["course_id"] == load_course(ROOT).id and manifest["exercises"] == ["sigmoid"]
    assert set(manifest["files"]) == {"sigmoid/sigmoid.py", "sigmoid/helpers.py"}
    assert packed.untouched == ()


def test_submit_then_grade_round_trip(tmp_path, grader):
    packed = pack_submission(course_dir=ROOT, out=tmp_path / "s.zip", source=ROOT / "solutions", exercises=["sigmoid"])
    result = grader.grade(packed.out, only=["sigmoid"]).exercise("sigmoid")
    assert result.error is None and result.max_score > 0 and result.score == result.max_score


def test_submit_of_stubs_says_they_are_untouched(tmp_path, grader):
    packed = pack_submission(course_dir=ROOT, out=tmp_path / "s.zip", exercises=["sigmoid"])
    assert packed.untouched == ("sigmoid",)
    assert grader.grade(packed.out, only=["sigmoid"]).exercise("sigmoid").score == 0


def test_read_manifest_notices_an_edited_file(tmp_path):
    packed = pack_submission(course_dir=ROOT, out=tmp_path / "s.zip", exercises=["sigmoid"])
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(packed.out) as src, zipfile.ZipFile(edited, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data + b"\n# changed\n" if name.endswith(".py") else data)
    with pytest.raises(GraderError, match="does not match its hash"):
        read_manifest(edited)


# New --------------------------------------------------------------------------------------------

def test_new_scaffolds_a_valid_exercise_full_of_markers(tmp_path):
    course = _copy_course(tmp_path / "course", ["sigmoid"])
    made = new_exercise(course_dir=course, exercise="square_sum", track="foundations")
    assert {p.relative_to(course).as_posix() for p in made.files} == {
        "exercises/square_sum/exercise.toml", "exercises/square_sum/README.md", "exercises/square_sum/square_sum.py",
        "exercises/square_sum/test_public.py", "exercises/square_sum/test_hidden.py",
        "solutions/square_sum/square_sum.py"}
    exercise = load_course(course).get("square_sum")
    assert exercise.order == 2 and exercise.functions == ("square_sum",)
    assert all(MARKER in p.read_text() for p in made.files)
    with pytest.raises(GraderError, match="already exists"):
        new_exercise(course_dir=course, exercise="square_sum")
    with pytest.raises(GraderError, match="invalid exercise id"):
        new_exercise(course_dir=course, exercise="Bad-Id")


# CI outputs -------------------------------------------------------------------------------------

def _report() -> Report:
    checks = (
        CheckResult("ok", "correctness", False, "passed", 2.0, 2.0, "", 0.1),
        CheckResult("wrong", "correctness", False, "failed", 0.0, 1.0, "result has the wrong dtype: got float64", 0.2),
        CheckResult("crash", "correctness", True, "error", 0.0, 1.0, "the check could not be set up", 0.0),
        CheckResult("slow", "timing", False, "timeout", 0.0, 1.0, "the call took longer than 60 s", 60.0),
        CheckResult("gpu", "correctness", True, "skipped", 0.0, 3.0, "needs a CUDA device", 0.0),
    )
    return Report(submission="s", device="cpu", grader_version="0", score=2.0, max_score=10.0,
                  started_at="2025-01-01T00:00:00+00:00", duration_s=61.0,
                  exercises=(ExerciseResult("alpha", "Alpha", 2.0, 8.0, None, checks),
                             ExerciseResult("beta", "Beta | pipes", 0.0, 2.0, "the submission has no beta/beta.py")))


def test_junit_has_one_testcase_per_check_with_messages():
    root = ET.fromstring(ET.tostring(junit_tree(_report()).getroot()))
    assert root.tag == "testsuites" and root.get("tests") == "6"
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("3", "1", "1")
    alpha = root.find("testsuite[@name='alpha']")
    cases = {c.get("name"): c for c in alpha.findall("testcase")}
    assert set(cases) == {"ok", "wrong", "(hidden) crash", "slow", "(hidden) gpu"}
    assert cases["wrong"].find("failure").get("message") == "result has the wrong dtype: got float64"
    assert cases["(hidden) crash"].find("error") is not None and cases["(hidden) gpu"].find("skipped") is not None
    assert cases["ok"].find("failure") is None and cases["ok"].find("properties/property[@name='points']").get("value") == "2"
    beta = root.find("testsuite[@name='beta']")
    assert beta.find("testcase/failure").get("message") == "the submission has no beta/beta.py"


def test_percent_leaves_out_skipped_checks_and_counts_missing_exercises():
    # alpha: 2 of the 5 points that ran (3 skipped); beta: nothing graded, its 2 points lost.
    assert percent(_report()) == pytest.approx(100 * 2 / 7)


def test_markdown_summary_has_a_row_per_exercise_and_the_failures():
    text = markdown_summary(_report(), fail_under=50)
    assert "| ❌ `beta` Beta \\| pipes | 0/2 |" in text
    assert "**fails** the threshold of 50%" in text
    assert "`alpha` wrong — failed: result has the wrong dtype: got float64" in text
    assert "gpu" not in text  # skipped checks are not failures


def test_fail_under_sets_the_exit_code_and_writes_ci_files(tmp_path):
    runner = CliRunner()
    junit, md, gs = tmp_path / "j.xml", tmp_path / "s.md", tmp_path / "results.json"
    ok = runner.invoke(app, ["--course", str(ROOT), "-s", str(ROOT / "solutions"), "-e", "sigmoid", "--no-timing",
                             "--fail-under", "100", "--junit", str(junit), "--markdown", str(md),
                             "--gradescope", str(gs)])
    assert ok.exit_code == 0, ok.output
    assert ET.parse(junit).getroot().get("failures") == "0"
    assert "passes the threshold of 100%" in md.read_text()
    assert json.loads(gs.read_text())["score"] > 0
    low = runner.invoke(app, ["--course", str(ROOT), "-e", "sigmoid", "--no-timing", "--fail-under", "50",
                              "--junit", str(junit)])
    assert low.exit_code == 1, low.output
    assert "under --fail-under 50%" in low.output
    assert int(ET.parse(junit).getroot().get("failures")) > 0
