"""Whether a submission attempted an exercise: a missing file or an untouched stub is not an attempt.

An exercise is *not attempted* when the submission has no ``<id>/<id>.py``, or when that file is
still the stub: byte for byte the course's stub, or — however it was reformatted — a module in which
every function the exercise asks for does nothing but ``raise NotImplementedError`` and nothing
else runs when it is imported (only imports, definitions, docstrings and constants at the top).
Such an exercise scores 0 without any worker starting or any check running. Anything else, a file
that does not parse included, is an attempt and is graded.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from grader.course.discover import Exercise


def digest(data: bytes) -> str:
    """The SHA-256 of a source file, line endings normalised (a stub checked out on Windows is the same stub)."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def _raises_not_implemented(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc
    target = exc.func if isinstance(exc, ast.Call) else exc
    return isinstance(target, ast.Name) and target.id == "NotImplementedError"


def _constant_call(node: ast.AST) -> bool:
    """``re.compile("...")``: the one call a stub's constants may hold (a tokenizer's pattern, say)."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "compile" \
        and isinstance(node.func.value, ast.Name) and node.func.value.id == "re" and not node.keywords \
        and all(isinstance(a, ast.Constant) for a in node.args)


def _inert(node: ast.stmt) -> bool:
    """A top-level statement that runs nothing of the student's: an import, a definition, a docstring,
    or a constant bound to a name (no call in it but ``re.compile`` of a literal)."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return not any(isinstance(d, ast.Call) for d in getattr(node, "decorator_list", ()) for d in ast.walk(d))
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant)
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return node.value is None or all(_constant_call(n) for n in ast.walk(node.value) if isinstance(n, ast.Call))
    return False


def is_stub(source: bytes, functions: tuple[str, ...], stub_digest: str | None = None) -> bool:
    """Whether ``source`` is the exercise's stub as handed out (see the module's docstring)."""
    if stub_digest is not None and digest(source) == stub_digest:
        return True
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    if not all(_inert(node) for node in tree.body):
        return False
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return bool(functions) and all(name in defs and _raises_not_implemented(defs[name]) for name in functions)


def course_stub_digest(exercise: Exercise) -> str | None:
    """The digest of the course's own stub, when it is still a stub (a working copy's may be edited)."""
    try:
        data = exercise.stub.read_bytes()
    except OSError:
        return None
    return digest(data) if is_stub(data, exercise.functions) else None


def attempted(folder: Path, exercise: Exercise, stub_digest: str | None = None) -> bool:
    """Whether the staged ``folder`` (holding ``<id>/<id>.py``) attempts ``exercise``."""
    path = folder / exercise.id / f"{exercise.id}.py"
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return not is_stub(data, exercise.functions, stub_digest)
