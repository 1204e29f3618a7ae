"""``grade selfcheck`` and the mutation engine behind it."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from grader.cli import app
from grader.course.discover import load_course
from grader.grading.inventory import collect
from grader.lifecycle.mutate import mutants, sample
from grader.lifecycle.scaffold import new_exercise
from grader.grading.results import CheckResult, ExerciseResult
from grader.lifecycle.mutation import mutation_run
from grader.lifecycle.selfcheck import (api_problems, check_problems, run_selfcheck, solution_problems,
                                        statement_problems, stub_problems)

SOURCE = '''"""Module docstring."""

import torch


def f(x: torch.Tensor, w: torch.Tensor, n: int = 3) -> torch.Tensor:
    """Docstring: 1 + 2 must stay as written."""
    z = x - x.amax(dim=-1, keepdim=True)
    e = torch.exp(z)
    y = e / e.sum(dim=-1, keepdim=True)
    if n < 4 and n > 0:
        y = torch.matmul(y, w)
    return y[:n] * 0.5 + 1e-6
'''


def _afters(found) -> set[str]:
    return {m.after for m in found}


def test_known_mutants_are_produced():
    found = mutants(SOURCE)
    afters = _afters(found)
    assert "x + x.amax(dim=-1, keepdim=True)" in afters  # swapped operator
    assert "x" in afters  # dropped term: the max subtraction is gone
    assert "torch.log(z)" in afters  # exp → log
    assert "e.mean(dim=-1, keepdim=True)" in afters  # sum → mean
    assert "e.sum(dim=-2, keepdim=True)" in afters  # dim change
    assert any(m.before == "True" and m.after == "False" and "e.sum(dim=-1, keepdim=False)" in m.source
               for m in found)  # a constant: keepdim dropped
    assert "torch.matmul(w, y)" in afters  # swapped call arguments
    assert "n <= 4" in afters  # off-by-one comparison
    assert "n < 4 or n > 0" in afters  # and → or
    assert ":n + 1" in afters and ":n - 1" in afters  # a slice bound off by one
    assert "0.0" in afters  # an epsilon dropped
    assert {m.operator for m in found} >= {"binop", "drop-term", "call", "dim", "constant", "swap-args",
                                           "off-by-one", "boolop"}


def test_arguments_of_symmetric_calls_are_not_swapped():
    found = mutants("def f(k, a, b):\n    return k.transpose(-2, -1) + torch.add(a, b) + torch.sub(a, b)\n")
    assert {m.after for m in found if m.operator == "swap-args"} == {"torch.sub(b, a)"}


def test_mutants_leave_docstrings_annotations_and_imports_alone_and_are_distinct():
    found = mutants(SOURCE)
    original = ast.unparse(ast.parse(SOURCE))
    sources = [m.source for m in found]
    assert len(set(sources)) == len(sources) and original not in sources
    for m in found:
        tree = ast.parse(m.source)
        fn = tree.body[2]
        assert ast.get_docstring(tree) == "Module docstring."
        assert ast.get_docstring(fn) == "Docstring: 1 + 2 must stay as written."
        assert ast.unparse(fn.args) == "x: torch.Tensor, w: torch.Tensor, n: int=3" or m.operator == "constant"
        assert ast.unparse(fn.returns) == "torch.Tensor"
        assert isinstance(tree.body[1], ast.Import)


def test_sample_is_capped_deterministic_and_covers_every_operator():
    found = mutants(SOURCE)
    operators = {m.operator for m in found}
    chosen = sample(found, len(operators) + 2, "f")
    assert len(chosen) == len(operators) + 2 < len(found)
    assert {m.operator for m in chosen} == operators
    assert chosen == sample(found, len(operators) + 2, "f")
    assert sample(found, 0, "f") == found


SIGMOID = "import torch\n\n\ndef sigmoid(x):\n    return 1.0 / (1.0 + torch.exp(-x))\n"


def test_a_known_mutant_is_killed(grader, tmp_path):
    exp_to_log = next(m for m in mutants(SIGMOID) if m.after == "torch.log(-x)")
    assert exp_to_log.description == "line 5:25: torch.exp(-x) → torch.log(-x) (call)"
    scores = {}
    for name, source in (("original", SIGMOID), ("mutant", exp_to_log.source)):
        (tmp_path / name / "sigmoid").mkdir(parents=True)
        (tmp_path / name / "sigmoid" / "sigmoid.py").write_text(source)
        result = grader.grade(tmp_path / name, only=["sigmoid"]).exercise("sigmoid")
        assert result.error is None
        scores[name] = (result.score, result.max_score)
    assert scores["original"][0] == scores["original"][1] > 0  # the formula itself earns full marks
    assert scores["mutant"][0] < scores["mutant"][1]


def test_mutation_run_counts_what_the_checks_catch(grader, course, tmp_path):
    answer = grader.grade(ROOT / "solutions", only=["sigmoid"]).exercise("sigmoid")
    result = mutation_run(grader, course, course.get("sigmoid"), answer, 5, tmp_path)
    assert result.tried == min(5, result.found) and result.killed + len(result.survivors) == result.tried
    assert 0 <= result.killed_at_import <= result.killed


# Static checks ------------------------------------------------------------------------------------

def _copy_course(dest: Path, exercises: list[str]) -> Path:
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    for e in exercises:
        shutil.copytree(ROOT / "exercises" / e, dest / "exercises" / e, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "solutions" / e, dest / "solutions" / e, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_static_checks_name_what_is_missing(tmp_path):
    root = _copy_course(tmp_path / "course", ["sigmoid"])
    ex = root / "exercises" / "sigmoid"
    (ex / "README.md").write_text("# Sigmoid\n\n## The maths\n\nσ(x) = 1 / (1 + e^(−x))\n")
    solution = root / "solutions" / "sigmoid" / "sigmoid.py"
    solution.write_text(solution.read_text().replace("def sigmoid(x: torch.Tensor)", "def sigmoid(x, scale=1.0)"))
    (ex / "test_extra.py").write_text("def test_unmarked(submission, device):\n    pass\n")
    course = load_course(root)
    exercise = course.get("sigmoid")
    assert statement_problems(exercise) == ["README.md lacks a '## Contract' section",
                                            "README.md lacks a '## Pitfalls' section", "README.md lacks a worked example"]
    assert api_problems(exercise, solution) == [
        "signatures differ: stub sigmoid(x: torch.Tensor) -> torch.Tensor, solution sigmoid(x, scale=1.0) -> torch.Tensor"]
    inventory = collect(course, course.exercises)
    assert check_problems(inventory.checks["sigmoid"], None) == [
        "check unmarked (test_extra.py) has no @check(points=...) marker"]


def test_reference_answer_must_pass_and_stay_clear_of_timing_budgets():
    def timing(ratio):
        return CheckResult("timing_f", "timing", False, "passed", 1.0, 1.0, timing={"ratio": ratio, "budget": 4.0})

    ok = CheckResult("values", "correctness", True, "passed", 2.0, 2.0)
    gpu = CheckResult("on_cuda", "correctness", True, "skipped", 0.0, 1.0, "needs a CUDA device")
    wrong = CheckResult("dtype", "correctness", True, "failed", 0.0, 1.0, "result has the wrong dtype")
    result = ExerciseResult("f", "F", 3.0, 4.0, None, (ok, gpu, timing(2.0)))
    assert solution_problems(result, 0.8) == ([], ["on_cuda skipped for the reference answer: needs a CUDA device"])
    slow = ExerciseResult("f", "F", 3.0, 3.0, None, (ok, timing(3.5)))
    (problem,), _ = solution_problems(slow, 0.8)  # 3.5 > 0.8 × 4: one noisy run from failing
    assert problem.startswith("timing timing_f: the reference answer's ratio 3.50×")
    assert solution_problems(slow, 0.9) == ([], [])
    failing = ExerciseResult("f", "F", 2.0, 3.0, None, (ok, wrong))
    assert solution_problems(failing, 0.8)[0] == ["the reference answer fails dtype: result has the wrong dtype"]
    assert stub_problems(failing) == ["the stub earns 2 points (passes values)"]


# The course, and an exercise from scaffold to sound ------------------------------------------

FILLED = {
    "exercises/square_sum/square_sum.py": '''"""Exercise: the sum of squares along the last dimension."""

import torch


def square_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum of x² along the last dimension.

    Args:
        x: shape (..., d), float32 or float64, any device.

    Returns:
        Shape (...), x's dtype and device; x is left unchanged.
    """
    raise NotImplementedError
''',
    "solutions/square_sum/square_sum.py": '''"""Reference solution: the sum of squares."""

import torch


def square_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum of x² along the last dimension."""
    return (x * x).sum(dim=-1)
''',
    "exercises/square_sum/README.md": "# Sum of squares\n\nWorked example: [1, 2] gives 5.\n\n## Contract\n\n"
                                      "- Shape (..., d) to (...).\n\n## Pitfalls\n\n- Summing the wrong dimension.\n",
    "exercises/square_sum/exercise.toml": 'title = "Sum of squares"\ntrack = "foundations"\norder = 2\n'
                                          'functions = ["square_sum"]\nsummary = "Sum of x² along the last dimension."\nweight = 3\n',
    "exercises/square_sum/test_public.py": '''"""Public checks for square_sum."""

import torch

from grader.checks import assert_tensor, check


@check(points=1)
def test_worked_example(submission, device):
    x = torch.tensor([[1.0, 2.0], [3.0, -4.0], [0.5, 0.0]], device=device)
    assert_tensor(submission.square_sum(x), (x * x).sum(-1), rtol=1e-6, atol=1e-7)  # float32 rounding
''',
    "exercises/square_sum/test_hidden.py": '''"""Hidden checks for square_sum."""

import pytest
import torch

from grader.checks import assert_tensor, check, randn


@check(points=2)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_values(submission, device, dtype):
    x = randn(3, 4, 5, seed=1, dtype=dtype, device=device)
    assert_tensor(submission.square_sum(x), (x * x).sum(-1), rtol=1e-5, atol=1e-6)  # a sum of 5 terms
''',
}
WEAK_CHECK = '''"""A check that looks only at the shape."""

import torch

from grader.checks import CheckFailure, check, randn


@check(points=1)
def test_shape(submission, device):
    x = randn(3, 4, 5, seed=1, device=device)
    if tuple(submission.square_sum(x).shape) != (3, 4):
        raise CheckFailure("wrong shape")
'''


def test_new_exercise_is_unsound_until_filled_then_sound(tmp_path):
    root = _copy_course(tmp_path / "course", ["sigmoid"])
    new_exercise(course_dir=root, exercise="square_sum", track="foundations")
    runner = CliRunner()
    scaffold = runner.invoke(app, ["selfcheck", "--course", str(root), "-e", "square_sum", "--max-mutants", "3"])
    assert scaffold.exit_code == 1, scaffold.output
    assert "NOT sound" in scaffold.output and "TODO(author) left in" in scaffold.output
    assert "the reference answer fails" in scaffold.output

    # Check modules stay imported under their path for the life of the process: edit a fresh copy.
    root = shutil.copytree(root, tmp_path / "filled")
    for rel, text in FILLED.items():
        (root / rel).write_text(text)
    result = run_selfcheck(course_dir=root, exercises=["square_sum"], max_mutants=4)
    (report,) = result.exercises
    assert result.sound, report.problems
    assert report.mutation.tried == 4 and report.mutation.killed == 4 and report.mutation.found > 4

    # Checks that look only at shapes let value mistakes through: survivors, and a threshold fails.
    root = shutil.copytree(root, tmp_path / "weak")
    for name in ("test_public.py", "test_hidden.py"):
        (root / "exercises" / "square_sum" / name).write_text(WEAK_CHECK.replace("test_shape", f"test_shape_{name[5:11]}"))
    weak = run_selfcheck(course_dir=root, exercises=["square_sum"], max_mutants=6, min_mutation_score=90)
    (report,) = weak.exercises
    assert report.sound and report.mutation.survivors and report.mutation.score < 90
    assert not weak.sound and weak.below_threshold == ("square_sum",)


@pytest.mark.slow
def test_the_course_is_sound():
    """`grade selfcheck` on the whole course, with a small mutant cap to keep CI fast."""
    result = run_selfcheck(course_dir=ROOT, max_mutants=4, timing=False)  # timing verdicts: benchmarks/timing.py
    unsound = {e.id: e.problems for e in result.exercises if not e.sound}
    assert not unsound, "\n".join(f"{k}: {p}" for k, v in unsound.items() for p in v)
    assert all(e.mutation is not None and e.mutation.tried > 0 for e in result.exercises)
