"""``grade new ID``: the files of a new exercise, each with ``TODO(author)`` markers to fill in.

The scaffold is a valid exercise from the start (``grade list`` and ``grade -e ID`` work), but not a
sound one: its checks fail on purpose, its reference answer raises ``NotImplementedError`` and its
text carries ``TODO(author)``, so ``grade selfcheck`` fails until every part is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.course.discover import ID_PATTERN, load_course
from grader.errors import GraderError

MARKER = "TODO(author)"


@dataclass(frozen=True)
class Scaffold:
    exercise: str
    files: tuple[Path, ...]


def _signature(fn: str) -> str:
    return f"def {fn}(x: torch.Tensor) -> torch.Tensor:"


def stub_text(exercise: str, title: str, functions: tuple[str, ...]) -> str:
    blocks = [f'"""Exercise: {title}."""\n\nimport torch\n']
    for fn in functions:
        blocks.append(f'''
{_signature(fn)}
    """{MARKER}: one line saying what {fn} computes, with its formula.

    Args:
        x: {MARKER}: shape (name every dimension), dtypes accepted, device.

    Returns:
        {MARKER}: shape, dtype and device of the result; say that ``x`` is left unchanged.

    Forbidden: {MARKER}: the library calls that would make this exercise trivial, however reached.
    """
    raise NotImplementedError
''')
    return "\n".join(blocks)


def solution_text(exercise: str, title: str, functions: tuple[str, ...]) -> str:
    blocks = [f'"""Reference solution: {title}."""\n\nimport torch\n']
    for fn in functions:
        blocks.append(f'''
{_signature(fn)}
    """{MARKER}: the same API as the stub; comments give shapes and reasons."""
    raise NotImplementedError  # {MARKER}: the reference answer
''')
    return "\n".join(blocks)


def toml_text(title: str, track: str, order: int, functions: tuple[str, ...]) -> str:
    names = ", ".join(f'"{f}"' for f in functions)
    return f'''title = "{title}"
track = "{track}"
order = {order}
functions = [{names}]
summary = "{MARKER}: one line for the catalogue."
weight = 6  # {MARKER}: the points its correctness checks share, for what it teaches (docs/authoring.md)

# {MARKER}: list what the exercise must not call, or delete this comment (see docs/authoring.md).
# [forbidden]
# functions = ["torch.sigmoid", "torch.Tensor.sigmoid"]   # dotted names, every route you know of
# aten = ["sigmoid"]                                       # ATen packets: catches routes you do not

# A timing budget (optional): the student's function against a baseline on fresh random inputs.
# [[timing]]
# function = "{functions[0]}"
# baseline = "torch.sigmoid"
# args = [{{randn = ["n", "d"]}}]
# points = 1
# cpu = {{budget = 4.0, sizes = {{n = 1024, d = 1024}}}}
# cuda = {{budget = 4.0, sizes = {{n = 8192, d = 4096}}}}
'''


def readme_text(exercise: str, title: str, functions: tuple[str, ...]) -> str:
    calls = ", ".join(f"`{f}(x)`" for f in functions)
    return f'''# {title}

Implement {calls} in `{exercise}.py`: {MARKER}: one sentence on what it computes and why it matters.

## The maths

{MARKER}: the formula, with every symbol named and its shape given.

Worked example: {MARKER}: a tiny input and its result, worked out by hand.

## Contract

- {MARKER}: shapes, dtypes and devices accepted; the result's shape, dtype and device.
- The inputs are not modified.
- Forbidden: {MARKER}: what, and that the grader detects it at run time.

## Pitfalls

- {MARKER}: the mistakes students really make; the hidden checks should catch each one.
'''


def public_checks_text(exercise: str, functions: tuple[str, ...]) -> str:
    fn = functions[0]
    return f'''"""Public checks for {exercise}: the worked example and the basic contract."""

import torch

from grader.checks import CheckFailure, assert_tensor, check, randn


@check(points=1)
def test_worked_example(submission, device):
    # {MARKER}: the statement's worked example against a live torch oracle, for instance
    #     x = torch.tensor([-2.0, 0.0, 3.0], device=device)
    #     assert_tensor(submission.{fn}(x), torch.sigmoid(x), rtol=1e-6, atol=1e-7)  # why this tolerance
    raise CheckFailure("{MARKER}: write this check")


@check(points=1)
def test_matrix_float32(submission, device):
    # {MARKER}: seeded inputs, every dimension a different size, e.g. randn(5, 7, seed=11, device=device).
    raise CheckFailure("{MARKER}: write this check")
'''


def hidden_checks_text(exercise: str, functions: tuple[str, ...]) -> str:
    return f'''"""Hidden checks for {exercise}: {MARKER}: what they probe (dtypes, shapes, extremes, inputs left unchanged)."""

import pytest
import torch

from grader.checks import CheckFailure, assert_tensor, check, randn

DTYPES = [torch.float32, torch.float64]
# {MARKER}: tolerances per dtype, each with the reason it is tight enough and loose enough.
TOL = {{torch.float32: dict(rtol=1e-5, atol=1e-7), torch.float64: dict(rtol=1e-12, atol=1e-15)}}


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_values_match_torch(submission, device, dtype):
    raise CheckFailure("{MARKER}: compare with a torch oracle in both dtypes")


@check(points=1)
def test_extreme_inputs(submission, device):
    raise CheckFailure("{MARKER}: the inputs where a naive formula overflows or loses precision")


@check(points=1)
def test_input_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    raise CheckFailure("{MARKER}: call the function once; an in-place answer fails here")
'''


def new_exercise(*, course_dir: Path, exercise: str, track: str | None = None, title: str | None = None,
                 functions: list[str] | None = None) -> Scaffold:
    """Create ``exercises/<exercise>/`` and ``solutions/<exercise>/`` with files to fill in."""
    course = load_course(course_dir)
    if not ID_PATTERN.match(exercise):
        raise GraderError(f"invalid exercise id {exercise!r} (lower case letters, digits and _, starting with a letter)")
    track = track or course.tracks[0]
    if track not in course.tracks:
        raise GraderError(f"invalid track {track!r} (tracks: {', '.join(course.tracks)})")
    names = tuple(functions or [exercise])
    for name in names:
        if not name.isidentifier() or name.startswith("_"):
            raise GraderError(f"invalid function name {name!r}")
    exercise_dir, solution_dir = course.root / "exercises" / exercise, course.root / "solutions" / exercise
    for folder in (exercise_dir, solution_dir):
        if folder.exists():
            raise GraderError(f"{folder} already exists")
    title = title or exercise.replace("_", " ").capitalize()
    if '"' in title or "\\" in title:
        raise GraderError(f"invalid title {title!r} (no quotes or backslashes)")
    order = 1 + max((e.order for e in course.exercises if e.track == track), default=0)
    files = {
        exercise_dir / "exercise.toml": toml_text(title, track, order, names),
        exercise_dir / "README.md": readme_text(exercise, title, names),
        exercise_dir / f"{exercise}.py": stub_text(exercise, title, names),
        exercise_dir / "test_public.py": public_checks_text(exercise, names),
        exercise_dir / "test_hidden.py": hidden_checks_text(exercise, names),
        solution_dir / f"{exercise}.py": solution_text(exercise, title, names),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Scaffold(exercise, tuple(files))
