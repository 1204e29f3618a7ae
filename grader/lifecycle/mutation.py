"""Mutants of a reference answer, graded like submissions: the share the checks catch is their score.

Each mutant (``grader.lifecycle.mutate``) is written into a submission folder of its own with the
reference answers of what the exercise imports, and graded quickly (correctness checks only, to the
first failure). A mutant is killed when a check that the reference answer passes fails for it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.course.discover import Course, Exercise
from grader.grading.results import ExerciseResult


@dataclass(frozen=True)
class Mutation:
    """How the checks of one exercise fared against mutants of its reference answer."""

    found: int  # distinct mutants before the cap
    tried: int
    killed: int
    killed_at_import: int  # counted as killed: the mutant could not even be imported
    survivors: tuple[str, ...]

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.tried if self.tried else 100.0


def dependencies(course: Course, exercise: Exercise) -> list[str]:
    """The exercises ``exercise`` imports, transitively."""
    seen: list[str] = []
    todo = list(exercise.depends)
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.append(dep)
            todo += list(course.get(dep).depends)
    return seen


def prepare(course: Course, exercise: Exercise, max_mutants: int, work: Path) -> tuple[int, list[tuple[str, Path]]]:
    """Mutant submissions under ``work``: (how many mutants exist, [(description, folder)] of those chosen)."""
    from grader.lifecycle.mutate import mutants, sample

    solutions = course.root / "solutions"
    found = mutants((solutions / exercise.id / f"{exercise.id}.py").read_text(encoding="utf-8"))
    chosen = sample(found, max_mutants, exercise.id)
    out = []
    for k, mutant in enumerate(chosen):
        folder = work / exercise.id / f"m{k:03d}"
        for dep in dependencies(course, exercise):
            shutil.copytree(solutions / dep, folder / dep, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(solutions / exercise.id, folder / exercise.id, ignore=shutil.ignore_patterns("__pycache__"))
        (folder / exercise.id / f"{exercise.id}.py").write_text(mutant.source + "\n", encoding="utf-8")
        out.append((mutant.description, folder))
    return len(found), out


def must_pass(baseline: ExerciseResult) -> set[str]:
    """The correctness checks the reference answer passes: a mutant failing any of them is killed."""
    return {c.name for c in baseline.checks if c.status == "passed" and c.kind == "correctness"}


def verdict(result: ExerciseResult, required: set[str], exercise_id: str) -> tuple[bool, bool]:
    """(killed, killed at import) for one mutant's result."""
    passed = {c.name for c in result.checks if c.status == "passed"}
    if result.error is None and required <= passed:
        return False, False
    return True, bool(result.error and result.error.startswith(f"importing {exercise_id}/{exercise_id}.py failed"))


def tally(found: int, outcomes: list[tuple[str, bool, bool]]) -> Mutation:
    """A Mutation from (description, killed, at import) per mutant graded."""
    return Mutation(found, len(outcomes), sum(k for _, k, _ in outcomes), sum(i for _, _, i in outcomes),
                    tuple(d for d, k, _ in outcomes if not k))


def mutation_run(grader, course: Course, exercise: Exercise, baseline: ExerciseResult, max_mutants: int,
                 work: Path) -> Mutation:
    """Grade the mutants of one exercise in this process's ``grader``, one after another."""
    found, chosen = prepare(course, exercise, max_mutants, work)
    required = must_pass(baseline)
    outcomes = []
    for description, folder in chosen:
        result = grader.grade(folder, name=f"{exercise.id} mutant", only=[exercise.id], attempt_all=True,
                              quick=True, settle=False).exercise(exercise.id)
        outcomes.append((description, *verdict(result, required, exercise.id)))
    return tally(found, outcomes)
