"""Read a student's Jupyter notebook: the cells marked as answers, exported as ``<id>/<id>.py``.

A notebook is course-format input read on the trusted side: its JSON is read with ``nbformat`` and
its cells are parsed as Python with ``ast``, never run. The rule the README states for students:

- the **answer** to an exercise is the code cell whose first line is ``# exercise: <id>`` (or that
  carries the cell tag ``exercise:<id>``): one cell per exercise;
- a **helper** cell, ``# exercise: <id> helper`` (tag ``exercise:<id>:helper``), holds code the
  answer needs (a helper function, a constant); an exercise may have several;
- an **import** at the top level of an unmarked code cell is copied into each exported file that
  uses a name it binds (``import torch`` wherever the marked cells say ``torch``);
- an answer may call the answers of the exercises its exercise ``depends`` on: the export imports
  each such name from that exercise's file (``from adam import adam_step``);
- nothing else is exported: unmarked cells, outputs and markdown stay in the notebook.

``<id>/<id>.py`` holds, in order, the imports, the dependencies' names and the exercise's marked
cells in notebook order, each after a ``# cell N`` line (N counts every cell from 1). Marked cells
must be plain Python: a magic (``%``), a shell escape (``!``), a help query (``?``) or a syntax error
in one keeps its exercise from being exported, with the cell and line in the reason.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.course.discover import Course
from grader.errors import GraderError

SUFFIX = ".ipynb"
MAX_NOTEBOOK_BYTES = 64 * 2**20  # outputs (images, tables) make notebooks far larger than their code
INSTALL_HINT = "pip install -c constraints.txt -e '.[notebook]'"
MARKER = re.compile(r"^#\s*exercise\s*:\s*(?P<id>\S+)(?:\s+(?P<helper>helper))?\s*$", re.IGNORECASE)
LOOKS_LIKE_MARKER = re.compile(r"^#\s*exercise\s*:", re.IGNORECASE)
TAG = re.compile(r"^exercise:(?P<id>[^:\s]+)(?::(?P<helper>helper))?$")
NOTEBOOK_ONLY = {"display", "get_ipython"}  # names the kernel provides and plain Python does not
MODULE_NAMES = {"__name__", "__file__", "__doc__", "__spec__", "__builtins__", "__loader__", "__package__"}


def is_notebook(path: Path) -> bool:
    return path.suffix.lower() == SUFFIX and not path.is_dir()


def marker(exercise_id: str, helper: bool = False) -> str:
    """The first line that marks a cell as ``exercise_id``'s answer (or one of its helpers)."""
    return f"# exercise: {exercise_id}" + (" helper" if helper else "")


def require_nbformat():
    """The ``nbformat`` module, or a GraderError that says how to install it."""
    try:
        import nbformat
    except ImportError:
        raise GraderError(f"reading a notebook needs nbformat, which comes with the grader's notebook "
                          f"extra: {INSTALL_HINT}") from None
    return nbformat


@dataclass(frozen=True)
class MarkedCell:
    number: int  # the cell's place in the notebook, from 1, markdown cells counted
    exercise: str
    helper: bool
    source: str


@dataclass(frozen=True)
class Import:
    cell: int
    source: str  # one statement binding one name: ``import numpy as np``, ``from torch import nn``
    name: str  # the name it binds ("*" for a star import)


@dataclass(frozen=True)
class Notebook:
    """What a notebook holds for grading, read without running any of it."""

    path: Path
    marked: tuple[MarkedCell, ...]
    imports: tuple[Import, ...]
    defined: dict = field(default_factory=dict)  # name -> the unmarked cell that binds it at top level
    problems: dict = field(default_factory=dict)  # exercise id -> why it cannot be exported
    unknown: tuple[str, ...] = ()  # cells whose marker names no exercise of the course

    @property
    def named(self) -> tuple[str, ...]:
        """The exercises some marked cell names, in notebook order."""
        return tuple(dict.fromkeys(c.exercise for c in self.marked))


@dataclass(frozen=True)
class Exported:
    """A notebook written out as a submission folder, and what kept exercises out of it."""

    root: Path
    found: tuple[str, ...]
    problems: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    error: str | None = None  # the notebook could not be read at all


# Reading -------------------------------------------------------------------------------------

def read_notebook(path: Path, course: Course) -> Notebook:
    """The marked cells of the notebook at ``path``; a GraderError when it is no readable notebook."""
    nbformat = require_nbformat()
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise GraderError(f"{path.name} is too large to grade ({size // 2**20} MiB; the limit is "
                              f"{MAX_NOTEBOOK_BYTES // 2**20} MiB): clear its outputs and save it again")
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise GraderError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise GraderError(f"{path.name} is not a notebook: it is not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise GraderError(f"{path.name} is not a notebook: it is not JSON ({_short(exc)})") from None
    if not isinstance(data, dict):
        raise GraderError(f"{path.name} is not a notebook: its JSON is a {type(data).__name__}, not an object")
    invalid: dict = {}
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error=invalid)
        cells = list(nb.cells)
    except nbformat.ValidationError as exc:  # nbformat raises it for a cell without its keys
        raise GraderError(f"{path.name} is not a valid notebook ({_short(exc)}); open it in Jupyter and save "
                          "it again") from None
    except Exception as exc:  # noqa: BLE001 - json, nbformat and jsonschema raise many types on bad input
        raise GraderError(f"{path.name} is not a readable notebook ({type(exc).__name__}: {_short(exc)})") from None
    if invalid.get("ValidationError") is not None:
        raise GraderError(f"{path.name} is not a valid notebook ({_short(invalid['ValidationError'])}); "
                          "open it in Jupyter and save it again")
    return _read_cells(path, cells, course)


def _short(exc: object) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


def _markers(cell, number: int, known: set[str], unknown: list[str]) -> list[tuple[str, bool]]:
    """The (exercise, is a helper) pairs a code cell's first line and tags mark it with."""
    found: list[tuple[str, bool, str]] = []
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    if LOOKS_LIKE_MARKER.match(first):
        match = MARKER.match(first)
        if match is None:
            unknown.append(f"cell {number}: `{first}` is not a marker; the first line of a marked cell is "
                           f"`# exercise: <id>` (its answer) or `# exercise: <id> helper`")
        else:
            found.append((match["id"], bool(match["helper"]), f"`{first}`"))
    tags = cell.get("metadata", {}).get("tags", [])
    for tag in tags if isinstance(tags, list) else ():
        match = TAG.match(tag) if isinstance(tag, str) else None
        if match:
            found.append((match["id"], bool(match["helper"]), f"the tag `{tag}`"))
    marks = []
    for exercise, helper, how in found:
        if exercise in known:
            marks.append((exercise, helper))
            continue
        close = difflib.get_close_matches(exercise.lower(), sorted(known), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        unknown.append(f"cell {number} is marked {how}, but {exercise!r} is no exercise of this course{hint}")
    return list(dict.fromkeys(marks))


def _read_cells(path: Path, cells: list, course: Course) -> Notebook:
    known = {e.id for e in course.exercises}
    marked: list[MarkedCell] = []
    imports: list[Import] = []
    defined: dict[str, int] = {}
    problems: dict[str, str] = {}
    unknown: list[str] = []
    for number, cell in enumerate(cells, 1):
        if cell.get("cell_type") != "code" or not isinstance(cell.get("source"), str):
            continue
        marks = _markers(cell, number, known, unknown)
        if not marks:
            tree = _parse_unmarked(cell.source)
            imports += _imports(tree, number)
            defined.update({name: number for name in _top_level_names(tree)})
            continue
        answers = [e for e, helper in marks if not helper]
        if len(answers) > 1:
            for e in answers:
                problems.setdefault(e, f"cell {number} is marked as the answer to {' and '.join(answers)}; "
                                       "an answer cell answers one exercise")
        reason = _not_plain_python(cell.source)
        for exercise, helper in marks:
            helper = helper and exercise not in answers  # a cell that answers it is not also its helper
            marked.append(MarkedCell(number, exercise, helper, cell.source))
            if reason:
                problems.setdefault(exercise, f"cell {number} {reason}")
    for exercise in dict.fromkeys(c.exercise for c in marked):
        answers = [c.number for c in marked if c.exercise == exercise and not c.helper]
        if len(answers) > 1:
            listed = ", ".join(map(str, answers[:-1])) + f" and {answers[-1]}"
            problems.setdefault(exercise, f"cells {listed} are all marked as the answer to {exercise}: keep one "
                                          f"(a cell of helpers for it is marked `{marker(exercise, True)}`)")
        elif not answers:
            helpers = [c.number for c in marked if c.exercise == exercise]
            problems.setdefault(exercise, f"cell {helpers[0]} is a helper of {exercise}, but no cell is its "
                                          f"answer (a cell whose first line is `{marker(exercise)}`)")
    return Notebook(path, tuple(marked), tuple(imports), defined, problems, tuple(unknown))


def _not_plain_python(source: str) -> str | None:
    """Why a marked cell cannot be a module's code (IPython syntax, a syntax error), or None."""
    try:
        ast.parse(source)
        return None
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        error = exc
    for n, line in enumerate(source.splitlines(), 1):
        text = line.strip()
        if text.startswith(("%", "!")) or (text.endswith("?") and not text.startswith("#")):
            kind = "a shell escape" if text.startswith("!") else "a magic" if text.startswith("%") else "a help query"
            return (f"line {n}: `{text[:80]}` is {kind}, which only a notebook runs; a marked cell must be "
                    f"plain Python (move it to an unmarked cell)")
    if isinstance(error, SyntaxError):
        return f"line {error.lineno or '?'}: SyntaxError: {error.msg}"
    return f"cannot be parsed ({type(error).__name__})"


def _parse_unmarked(source: str) -> ast.Module:
    """An unmarked cell's top level, for its imports and names: IPython lines become ``pass``, and a
    cell that still does not parse gives the imports written alone on a line."""
    lines = []
    for line in source.splitlines():
        text = line.strip()
        ipython = text.startswith(("%", "!")) or (text.endswith("?") and not text.startswith("#"))
        lines.append(line[: len(line) - len(line.lstrip())] + "pass" if ipython else line)
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    body: list[ast.stmt] = []
    for line in lines:
        if line.startswith(("import ", "from ")):
            try:
                body += ast.parse(line).body
            except (SyntaxError, ValueError):
                continue
    return ast.Module(body=body, type_ignores=[])


def _imports(tree: ast.Module, cell: int) -> list[Import]:
    """One Import per name that a top-level import statement of the cell binds."""
    out = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append(Import(cell, ast.unparse(ast.Import(names=[alias])),
                                  alias.asname or alias.name.split(".")[0]))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                out.append(Import(cell, ast.unparse(ast.ImportFrom(module=node.module, names=[alias], level=0)),
                                  alias.asname or alias.name))
    return out


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names a module's top level defines: functions, classes and assigned names (not imports)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def _used(trees: list[ast.Module]) -> set[str]:
    return {n.id for t in trees for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _bound(trees: list[ast.Module]) -> set[str]:
    """Every name bound anywhere in ``trees``, in any scope: a name outside this set is free for sure."""
    names: set[str] = set()
    for tree in trees:
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                names.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(n.name)
            elif isinstance(n, ast.arg):
                names.add(n.arg)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                names |= {a.asname or a.name.split(".")[0] for a in n.names}
            elif isinstance(n, (ast.Global, ast.Nonlocal)):
                names |= set(n.names)
            elif isinstance(n, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and n.name:
                names.add(n.name)
            elif isinstance(n, ast.MatchMapping) and n.rest:
                names.add(n.rest)
    return names


# Exporting -----------------------------------------------------------------------------------

def export_notebook(notebook: Notebook, course: Course, ids: list[str], dest: Path) -> Exported:
    """Write ``dest/<id>/<id>.py`` for each of ``ids`` that the notebook answers without a problem."""
    dest.mkdir(parents=True, exist_ok=True)
    cells = {e: [c for c in notebook.marked if c.exercise == e] for e in notebook.named}
    trees = {e: [ast.parse(c.source) for c in cs] for e, cs in cells.items() if e not in notebook.problems}
    found, warnings = [], []
    for exercise in ids:
        if exercise not in trees:
            continue
        mine = trees[exercise]
        used = _used(mine)
        lines = [f"# {exercise}.py: the cells marked for {exercise} in {notebook.path.name}, exported by grade.", ""]
        carried = [i for i in notebook.imports if i.name == "*" or i.name in used]
        lines += sorted(dict.fromkeys(i.source for i in carried), key=lambda s: not s.startswith("from __future__"))
        from_dependencies: dict[str, str] = {}
        unanswered: dict[str, str] = {}  # a dependency's function used here, with no cell to export it from
        for dependency in course.get(exercise).depends:
            if dependency in trees:
                names = sorted((used - _top_level_names_all(mine)) & _top_level_names_all(trees[dependency]))
                from_dependencies.update({n: dependency for n in names})
                if names:
                    lines.append(f"from {dependency} import {', '.join(names)}")
            else:
                unanswered.update({n: dependency for n in course.get(dependency).callable})
        for cell in cells[exercise]:
            lines += ["", f"# cell {cell.number}", cell.source.rstrip("\n")]
        folder = dest / exercise
        folder.mkdir(exist_ok=True)
        (folder / f"{exercise}.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
        found.append(exercise)
        known = _bound(mine) | {i.name for i in carried} | set(from_dependencies)
        warnings += _free_name_warnings(exercise, used - known, notebook, cells, unanswered)
    problems = {e: p for e, p in notebook.problems.items() if e in ids}
    return Exported(dest, tuple(found), problems, tuple(warnings))


def _top_level_names_all(trees: list[ast.Module]) -> set[str]:
    return set().union(*(_top_level_names(t) for t in trees)) if trees else set()


def _free_name_warnings(exercise: str, free: set[str], notebook: Notebook, cells: dict,
                        unanswered: dict[str, str]) -> list[str]:
    """Names the exported file uses but nothing in it binds, where the notebook shows why."""
    out = []
    for name in sorted(free - set(dir(builtins)) - MODULE_NAMES):
        if name in unanswered:
            out.append(f"{exercise} uses `{name}` from {unanswered[name]}, which no cell of the notebook answers "
                       f"(its answer cell's first line is `{marker(unanswered[name])}`)")
        elif name in notebook.defined:
            out.append(f"{exercise} uses `{name}`, which unmarked cell {notebook.defined[name]} defines: "
                       f"mark that cell `{marker(exercise, True)}` to grade it with {exercise}")
        elif name in NOTEBOOK_ONLY:
            out.append(f"{exercise} uses `{name}`, which exists only in a notebook's kernel")
        else:
            other = next((c for e, cs in cells.items() if e != exercise for c in cs
                          if name in _top_level_names(_parse_unmarked(c.source))), None)
            if other is not None:
                out.append(f"{exercise} uses `{name}`, which cell {other.number} defines for {other.exercise}; "
                           f"only the exercises {exercise} builds on are imported: copy it into a cell "
                           f"marked `{marker(exercise, True)}`")
    return out


def refusals(notebook: Notebook, ids: list[str] | None = None) -> list[str]:
    """What stops a student's own run (``grade -s``, ``%grade``, ``grade submit``): markers naming no
    exercise, and exercises asked for by name that no cell is marked for."""
    out = list(notebook.unknown)
    if not notebook.marked and not out:
        out.append(f"{notebook.path.name} has no marked cells: an answer cell's first line is "
                   f"`# exercise: <id>` (for example `{marker('sigmoid')}`), or it carries the tag `exercise:<id>`")
    for exercise in ids or ():
        if notebook.marked and exercise not in notebook.named:
            out.append(f"no cell of {notebook.path.name} is marked for {exercise} (an answer cell's first line "
                       f"is `{marker(exercise)}`)")
    return out


def export_for_grading(path: Path, course: Course, ids: list[str], dest: Path) -> Exported:
    """``export_notebook`` for the runner: anything wrong with the notebook becomes ``error``, never raised."""
    try:
        return export_notebook(read_notebook(path, course), course, ids, dest)
    except GraderError as exc:
        error = str(exc)
    except (OSError, ValueError, RecursionError, MemoryError) as exc:  # the export could not be written
        error = f"{path.name} could not be exported ({type(exc).__name__}: {_short(exc)})"
    dest.mkdir(parents=True, exist_ok=True)
    return Exported(dest, (), {}, (), error)


def check_notebook(path: Path, course: Course, ids: list[str] | None = None) -> tuple[str, ...]:
    """Read the notebook for a student's own run: a GraderError for what stops it (``refusals``), else
    the warnings its export gives (a name the marked cells use that an unmarked cell defines...)."""
    notebook = read_notebook(path, course)
    stops = refusals(notebook, ids)
    if stops:
        raise GraderError("\n".join(stops))
    with tempfile.TemporaryDirectory(prefix="grade-notebook-") as tmp:
        exported = export_notebook(notebook, course, list(ids or notebook.named), Path(tmp))
    return exported.warnings
