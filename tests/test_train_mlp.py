"""train_mlp blames the dependency that is wrong, missing or unwritten, never its own training loop."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ROOT

WRONG = ROOT / "tests" / "wrong_answers" / "train_mlp"
DEPENDENCIES = ("mlp_forward", "mlp_backward", "adam")


def build(dest: Path, parts: dict[str, Path]) -> Path:
    """A submission folder holding, for each exercise id, a copy of the given folder."""
    for exercise, folder in parts.items():
        shutil.copytree(folder, dest / exercise)
    return dest


def grade_train_mlp(grader, submission: Path):
    result = grader.grade(submission, name=submission.name, only=["train_mlp"]).exercise("train_mlp")
    assert result.error is None, result.error
    assert result.checks, "train_mlp has no checks"
    return result


def solutions(*ids: str) -> dict[str, Path]:
    return {i: ROOT / "solutions" / i for i in ids}


@pytest.mark.parametrize("case, dependency", [("broken_backward", "mlp_backward"), ("broken_adam", "adam")])
def test_a_wrong_dependency_is_named(grader, tmp_path, case, dependency):
    # The case folder brings train_mlp (the reference answer) and one broken dependency of its own.
    own = {p.name: p for p in (WRONG / case).iterdir() if p.is_dir()}
    assert dependency in own and "train_mlp" in own
    sub = build(tmp_path / case, own | solutions(*(d for d in DEPENDENCIES if d not in own)))
    result = grade_train_mlp(grader, sub)
    assert result.score == 0
    for c in result.checks:
        assert c.message.startswith(f"depends on {dependency}, which is wrong"), (c.name, c.message)


def test_a_missing_dependency_is_named(grader, tmp_path):
    sub = build(tmp_path / "no_forward", solutions("train_mlp", "mlp_backward", "adam"))
    result = grade_train_mlp(grader, sub)
    assert result.score == 0
    for c in result.checks:
        assert c.message.startswith("depends on mlp_forward, which is missing"), (c.name, c.message)


def test_an_unwritten_dependency_is_named(grader, tmp_path):
    parts = solutions("train_mlp", "mlp_forward", "mlp_backward") | {"adam": ROOT / "exercises" / "adam"}
    result = grade_train_mlp(grader, build(tmp_path / "stub_adam", parts))
    assert result.score == 0
    for c in result.checks:
        assert c.message == "depends on adam, which is not implemented yet", (c.name, c.message)


def test_right_dependencies_are_not_blamed(grader, tmp_path):
    # A wrong training loop on top of correct dependencies: the messages speak of the loop.
    sub = build(tmp_path / "t_always_one", solutions(*DEPENDENCIES))
    (sub / "train_mlp").mkdir()
    shutil.copy(WRONG / "t_always_one.py", sub / "train_mlp" / "train_mlp.py")
    result = grade_train_mlp(grader, sub)
    failed = [c for c in result.checks if c.status != "passed"]
    assert failed
    assert not any("depends on" in c.message for c in result.checks), [c.message for c in failed]
    assert any("loss history differs" in c.message for c in failed)
