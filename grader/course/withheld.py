"""``hidden.toml``: the checks a student release leaves out, named with their points.

``grade release`` writes one per exercise; ``grade`` in the release lists those checks as not run
("graded on submission") with their points, so that students see the full scale.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from grader.course.discover import Exercise
from grader.errors import GraderError
from grader.messages import Message

MANIFEST = "hidden.toml"
NOT_RUN = Message("check.not_run")  # "graded on submission"


def toml_string(text: str) -> str:
    """A TOML basic string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Withheld:
    """A check left out of the release: its name, kind, points and whether it is a hidden one."""

    name: str
    kind: str
    points: float
    hidden: bool = True


def manifest_text(exercise: Exercise, checks: list[Withheld]) -> str:
    """``hidden.toml`` for one exercise: one ``[[check]]`` per withheld check (name, kind, points)."""
    lines = [f"# The checks of {exercise.id} that are not in this copy: they run only when the submission",
             "# is graded. `grade` lists them as not run, with their points. Written by `grade release`.", ""]
    for c in checks:
        lines += ["[[check]]", f"name = {toml_string(c.name)}", f"kind = {toml_string(c.kind)}",
                  f"points = {c.points:g}"] + ([] if c.hidden else ["hidden = false"]) + [""]
    return "\n".join(lines)


def read_withheld(exercise: Exercise) -> tuple[Withheld, ...]:
    """The checks named in the exercise's ``hidden.toml``; none when it has no such file."""
    path = exercise.path / MANIFEST
    if not path.is_file():
        return ()
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("check", [])
        return tuple(Withheld(name=str(e["name"]), kind=str(e.get("kind", "correctness")), points=float(e["points"]),
                              hidden=bool(e.get("hidden", True))) for e in entries)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise GraderError(f"cannot read {path}: {exc}") from None
