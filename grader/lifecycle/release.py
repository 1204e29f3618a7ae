"""``grade release``: a self-contained student copy of a course, with nothing that gives answers away.

The release holds the stubs, statements, public checks and metadata of every exercise, the grader
package, ``pyproject.toml`` (marked ``release = true``), ``constraints.txt`` and a student README.
Hidden checks, ``solutions/``, ``tests/`` and ``grader/measure/baselines/`` (hand-written timing baselines
are reference answers too) stay behind; each exercise gets ``hidden.toml`` instead, naming its
hidden checks and the timing checks that need those baselines, with their points, so that
``grade`` in the release lists them as not run.
With ``notebooks``, ``notebooks/<track>.ipynb`` holds one starter notebook per track (``starter.py``).
Before the copy is put in place, every file in it is searched for the lines of every reference
solution; one found anywhere refuses the release.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import grader
from grader.course.discover import Course, Exercise, is_hidden, load_course
from grader.course.withheld import MANIFEST, NOT_RUN, Withheld, manifest_text
from grader.errors import GraderError
from grader.lifecycle.leaks import Leak, find_leaks
from grader.lifecycle.starter import FOLDER as NOTEBOOKS, write_starters

SKIP_NAMES = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints", MANIFEST}
# Hand-written timing baselines are reference answers in all but name: they stay with the instructor,
# and the timing checks that need them are named in hidden.toml and run on submission only.
PRIVATE_MODULES = {"baselines"}  # grader/measure/baselines/
PRIVATE_BASELINE = "grader.measure.baselines."
COURSE_FILES = ("constraints.txt", "LICENSE", "LICENSE.txt", "LICENSE.md")


@dataclass(frozen=True)
class Release:
    out: Path
    exercises: tuple[str, ...]
    hidden_checks: int
    files: int
    notebooks: tuple[str, ...] = ()  # the tracks with a starter notebook


# Hidden-check manifests ---------------------------------------------------------------------

def private_timing(exercise: Exercise) -> list[int]:
    """Indices of the ``[[timing]]`` tables whose baseline lives in ``grader.measure.baselines``."""
    return [i for i, t in enumerate(exercise.timing)
            if isinstance(t, dict) and str(t.get("baseline", "")).startswith(PRIVATE_BASELINE)]


def _timing_withheld(exercise: Exercise, indices: list[int]) -> list[Withheld]:
    try:
        from grader.measure.timing import parse_tables

        names = [(b.name, b.points) for b in parse_tables(exercise)]
    except ImportError:  # a grader without timing checks: name them as the tables do
        names = [(str(t.get("name") or f"timing_{t.get('function')}"), float(t.get("points", 1)))
                 for t in exercise.timing]
    return [Withheld(names[i][0], "timing", names[i][1], hidden=False) for i in indices]


def drop_timing_tables(text: str, drop: list[int], where: Path) -> str:
    """``exercise.toml`` text without the ``[[timing]]`` tables numbered ``drop`` (from 0), checked by parsing."""
    out, index, skipping = [], -1, False
    for line in text.splitlines(keepends=True):
        if line.startswith("["):  # a table header at column 0 ends the previous table
            if line.strip() == "[[timing]]":
                index += 1
                skipping = index in drop
            else:
                skipping = False
        if not skipping:
            out.append(line)
    result = "".join(out)
    before, after = tomllib.loads(text), tomllib.loads(result)
    kept = [t for i, t in enumerate(before.get("timing", [])) if i not in drop]
    if kept:
        before["timing"] = kept
    else:
        before.pop("timing", None)
    if before != after:
        raise GraderError(f"cannot take the private timing tables out of {where}: write each [[timing]] table "
                          "with its header at the start of a line and nothing else starting with '['")
    return result


# Building -------------------------------------------------------------------------------------

def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SKIP_NAMES or n.endswith(".pyc") or is_hidden(Path(n))}


def _ignore_private(directory: str, names: list[str]) -> set[str]:
    return _ignore(directory, names) | (PRIVATE_MODULES & set(names))


def _mark_release(pyproject: str) -> str:
    """``pyproject.toml`` text with ``release = true`` in ``[tool.grade]`` (added or replaced)."""
    lines = pyproject.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "[tool.grade]"), None)
    if start is None:
        return pyproject.rstrip("\n") + "\n\n[tool.grade]\nrelease = true\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    for i in range(start + 1, end):
        if re.match(r"\s*release\s*=", lines[i]):
            lines[i] = "release = true"
            break
    else:
        lines.insert(start + 1, "release = true")
    return "\n".join(lines) + "\n"


def _notebook_section(tracks: tuple[str, ...]) -> str:
    if not tracks:
        return ""
    listed = ", ".join(f"`{NOTEBOOKS}/{t}.ipynb`" for t in tracks)
    return f"""
## Working in a notebook

The same exercises come as notebooks, one per track ({listed}): each statement, then its stub
in a cell whose first line is `# exercise: <id>`. Install the notebook extra, open one in Jupyter and
run `%grade <id>` (the notebook's first cell gives the rules for helper cells and imports):

```bash
pip install -c constraints.txt -e '.[notebook]'
grade -s {NOTEBOOKS}/{tracks[0]}.ipynb                 # the same report from a terminal
grade submit -s {NOTEBOOKS}/{tracks[0]}.ipynb --out submission.zip
```
"""


def student_readme(course: Course, notebooks: tuple[str, ...] = ()) -> str:
    """The release's README: how to install, grade and hand in, and the list of exercises."""
    rows = "\n".join(f"| {e.track} | `{e.id}` | {e.title} | {e.summary} |" for e in course.exercises)
    first = course.exercises[0].id if course.exercises else "ID"
    return f"""# {course.title}

Your copy of the course's exercises. Each one is a folder `exercises/<id>/` holding the statement
(`README.md`: the maths, a worked example, the pitfalls), the file you edit (`<id>.py`, whose
docstrings are the contract: shapes, dtypes, what is forbidden) and its public checks (`test_public*.py`).

```bash
python3 -m venv .venv && . .venv/bin/activate && pip install -c constraints.txt -e .
grade                               # grade your working copy (exercises/)
grade -e {first:<27}# one exercise (repeat -e for more)
grade list                          # the exercises, by track
grade submit --out submission.zip   # the file to hand in
```

`constraints.txt` pins the torch release the course is tested with; leave out `-c constraints.txt`
to keep a torch you already have (a CUDA build, say).

Your code runs in a sandboxed worker; checks call your functions and compare the results with
PyTorch's. The report lists every check with its points. The hidden checks are not in this copy:
the report lists them as not run ("{NOT_RUN}") with their points, and they run when your
submission is graded. A failed public check says why; on submission, a failed hidden check says
what kind of thing went wrong, never its inputs.
{_notebook_section(notebooks)}
## Exercises

| track | id | title | summary |
|---|---|---|---|
{rows}
"""


def _is_inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def with_dependencies(course: Course, ids: list[str] | None) -> Course:
    """The course narrowed to ``ids`` and every exercise they depend on (all of it when ``ids`` is empty)."""
    if not ids:
        return course
    keep: set[str] = set()
    todo = [e.id for e in course.select(ids)]
    while todo:
        exercise = course.get(todo.pop())
        if exercise.id not in keep:
            keep.add(exercise.id)
            todo += list(exercise.depends)
    return replace(course, exercises=tuple(e for e in course.exercises if e.id in keep))


def build_release(*, course_dir: Path, out: Path, exercises: list[str] | None = None,
                  notebooks: bool = False) -> Release:
    """Write the student release of the course at ``course_dir`` into ``out`` (absent or empty).

    ``exercises`` narrows the release to some exercises and what they depend on; ``notebooks`` adds
    a starter notebook per track.
    """
    from grader.grading.inventory import collect

    course = with_dependencies(load_course(course_dir), exercises)
    out = out.resolve()
    for inner in ("exercises", "solutions", "tests"):
        if _is_inside(out, course.root / inner):
            raise GraderError(f"--out {out} lies inside the course's {inner}/")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GraderError(f"--out {out} exists and is not an empty folder")
    inventory = collect(course, course.exercises, hidden_only=True)
    if inventory.errors:
        broken = "; ".join(f"{k}: {v}" for k, v in sorted(inventory.errors.items()))
        raise GraderError(f"the hidden checks cannot be collected, so no manifest can be written: {broken}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tracks = write_starters(course, tmp / NOTEBOOKS) if notebooks else ()
        _write_tree(course, tmp, inventory, tracks)
        leaks = find_leaks(course.root / "solutions", [e.id for e in course.exercises], tmp)
        if leaks:
            raise GraderError(_leak_message(leaks))
        _verify(tmp)
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = sum(1 for p in out.rglob("*") if p.is_file())
    hidden = sum(len(v) for v in inventory.checks.values())
    return Release(out, tuple(e.id for e in course.exercises), hidden, files, tracks)


def _write_tree(course: Course, dest: Path, inventory, notebooks: tuple[str, ...] = ()) -> None:
    for e in course.exercises:
        target = dest / "exercises" / e.id
        shutil.copytree(e.path, target, ignore=_ignore)
        withheld = [Withheld(c.name, c.kind, c.points) for c in inventory.checks.get(e.id, ())]
        private = private_timing(e)
        if private:
            withheld += _timing_withheld(e, private)
            (target / "exercise.toml").write_text(
                drop_timing_tables(e.toml.read_text(encoding="utf-8"), private, e.toml), encoding="utf-8")
        (target / MANIFEST).write_text(manifest_text(e, withheld), encoding="utf-8")
    package = Path(grader.__file__).resolve().parent
    shutil.copytree(package, dest / "grader", ignore=_ignore_private)
    pyproject = course.root / "pyproject.toml"
    if not pyproject.is_file():
        raise GraderError(f"{pyproject} is missing: a release needs it to install the grader")
    (dest / "pyproject.toml").write_text(_mark_release(pyproject.read_text(encoding="utf-8")), encoding="utf-8")
    for name in COURSE_FILES:
        if (course.root / name).is_file():
            shutil.copy2(course.root / name, dest / name)
    (dest / "README.md").write_text(student_readme(course, notebooks), encoding="utf-8")
    (dest / ".gitignore").write_text(".venv/\n__pycache__/\n*.egg-info/\n*.zip\n", encoding="utf-8")


def _verify(dest: Path) -> None:
    """Refuse a tree that holds anything a release must not: hidden checks, solutions, the tests."""
    for path in dest.rglob("*"):
        rel = path.relative_to(dest)
        if is_hidden(path) or rel.parts[0] in ("solutions", "tests") or "wrong_answers" in rel.parts \
                or (rel.parts[0] == "grader" and path.name in PRIVATE_MODULES):
            raise GraderError(f"the release would contain {rel}")
    settings = tomllib.loads((dest / "pyproject.toml").read_text(encoding="utf-8"))
    if settings.get("tool", {}).get("grade", {}).get("release") is not True:
        raise GraderError("the release's pyproject.toml could not be marked release = true")
    load_course(dest)  # the copy must still be a course the grader can read


def _leak_message(leaks: list[Leak]) -> str:
    shown = "\n".join(f"  {leak}" for leak in leaks[:10])
    more = f"\n  ... and {len(leaks) - 10} more" if len(leaks) > 10 else ""
    return f"the release would give away {len(leaks)} line(s) of the reference solutions:\n{shown}{more}"
