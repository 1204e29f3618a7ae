"""Every exercise: its solution earns full marks, its stub zero, and every wrong answer is caught.

Wrong answers live in ``tests/wrong_answers/<exercise>/<name>.py`` (a replacement for
``<exercise>.py``, each with a docstring naming the mistake) or ``<name>/`` (a whole submission
folder, for exercises that import others). Each must lose points, and together they must make
every correctness check of their exercise fail at least once: a check that no plausible mistake
fails is a check that cannot fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ROOT

WRONG = ROOT / "tests" / "wrong_answers"


def _wrong_cases() -> list[Path]:
    return sorted(p for p in WRONG.glob("*/*") if (p.suffix == ".py" or p.is_dir()) and p.name != "__pycache__")


def _ids() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "exercises").glob("*/exercise.toml"))


@pytest.fixture(scope="session")
def solution_report(grader):
    return grader.grade(ROOT / "solutions", name="solutions")


@pytest.fixture(scope="session")
def stub_report(grader):
    return grader.grade(ROOT / "exercises", name="stubs", attempt_all=True)


def _submission_for(case: Path, course, tmp: Path) -> tuple[Path, str]:
    exercise = case.parent.name
    sub = tmp / case.stem
    if case.is_dir():
        shutil.copytree(case, sub)
    else:
        (sub / exercise).mkdir(parents=True)
        shutil.copy(case, sub / exercise / f"{exercise}.py")
    # An exercise that imports others gets the reference answers for them, unless the case brings its own.
    for dep in course.get(exercise).depends:
        if not (sub / dep).exists():
            shutil.copytree(ROOT / "solutions" / dep, sub / dep)
    return sub, exercise


@pytest.fixture(scope="session")
def wrong_reports(grader, course, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wrong")
    reports = {}
    for case in _wrong_cases():
        sub, exercise = _submission_for(case, course, tmp / case.parent.name)
        reports[case] = grader.grade(sub, name=f"{exercise}/{case.name}", only=[exercise]).exercise(exercise)
    return reports


@pytest.mark.parametrize("exercise", _ids())
def test_solution_earns_full_marks(solution_report, exercise):
    result = solution_report.exercise(exercise)
    failed = [f"{c.name}: {c.message}" for c in result.checks if c.status != "passed"]
    assert result.max_score > 0, f"{exercise} has no checks"
    assert result.score == result.max_score, f"{exercise} solution failed: {failed}"


@pytest.mark.parametrize("exercise", _ids())
def test_stub_earns_zero(stub_report, exercise):
    result = stub_report.exercise(exercise)
    assert result.max_score > 0
    passed = [c.name for c in result.checks if c.status == "passed"]
    assert result.score == 0, f"{exercise} stub passed {passed}"


@pytest.mark.parametrize("case", _wrong_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_wrong_answer_is_caught(wrong_reports, case):
    result = wrong_reports[case]
    assert result.error is None, result.error
    assert result.score < result.max_score, f"{case.name} earned full marks"


@pytest.mark.parametrize("exercise", _ids())
def test_every_check_fails_for_some_wrong_answer(wrong_reports, solution_report, exercise):
    cases = [c for c in wrong_reports if c.parent.name == exercise]
    assert len(cases) >= 3, f"{exercise} needs at least three wrong answers under tests/wrong_answers/{exercise}/"
    checks = {c.name for c in solution_report.exercise(exercise).checks if c.kind == "correctness"}
    failed = {c.name for case in cases for c in wrong_reports[case].checks if c.status != "passed"}
    assert checks - failed == set(), f"checks of {exercise} that no wrong answer fails: {sorted(checks - failed)}"


def test_every_case_has_a_docstring():
    for case in _wrong_cases():
        text = case.read_text() if case.is_file() else "".join(p.read_text() for p in case.rglob("*.py"))
        assert '"""' in text, f"{case} should say in a docstring which mistake it makes"


@pytest.mark.parametrize("exercise", _ids())
def test_reference_call_times_are_current(course, exercise):
    """Each check's call limit comes from reference_times.toml: it must match the checks as they are."""
    from grader.course import reference

    e = course.get(exercise)
    assert reference.current(e, "cpu"), (f"{exercise}/reference_times.toml is missing or out of date: run "
                                         f"grade selfcheck -e {exercise} --no-timing --max-mutants 0")
    times = reference.load(e, "cpu")
    assert times and all(0 <= t < 30 for t in times.values())


def test_readme_catalogue_lists_every_exercise_with_its_points(course):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    catalogue = text[text.index("<!-- catalogue -->"):text.index("## Sandbox and threat model")]
    for e in course.exercises:
        budgets = sum(float(t.get("points", 1)) for t in (*e.timing, *e.memory))
        points = f"{e.weight:g}" + (f" + {budgets:g}" if budgets else "")
        assert f"| `{e.id}` | " in catalogue and f" | {points} | " in catalogue.split(f"| `{e.id}` | ")[1].split("\n")[0], \
            f"{e.id} is missing from the README's catalogue or listed with other points"
