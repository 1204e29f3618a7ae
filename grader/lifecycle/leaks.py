"""Find the lines of reference solutions inside other files: what a release must never contain.

A solution's lines of code are compared, whitespace collapsed, with every line of every text file
of the release. Only lines that compute (a call or an operator) count: docstrings, comments,
imports, ``def`` lines, lines that only name things (``for name in NAMES:``), lines the exercise's
own stub already shows (the public API) and lines too short to mean anything are left out. A
notebook is searched by the lines of its cells as well as its JSON, where quotes and backslashes are
escaped.
"""

from __future__ import annotations

import ast
import io
import json
import keyword
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

MIN_CHARS = 12  # non-space characters; shorter lines (`out = x * y`, `dim=-1,`) match by chance
TRIVIAL = re.compile(r"^(import |from \S+ import |def |async def |class |@|(return|raise|yield|pass|break|continue)"
                     r"( [\w.]+)?$)")
MAX_FILE_BYTES = 4 * 2**20
OPERATORS = {"+", "-", "*", "/", "//", "%", "@", "**", "<", ">", "<=", ">=", "==", "!=", "&", "|", "^", "~", "<<",
             ">>", "+=", "-=", "*=", "/=", "//=", "@=", "**=", "%=", "&=", "|=", "^="}


@dataclass(frozen=True)
class Leak:
    solution: str  # "solutions/sigmoid/sigmoid.py:7"
    line: str
    where: str  # "exercises/sigmoid/README.md:12"

    def __str__(self) -> str:
        return f"{self.solution} `{self.line}` appears in {self.where}"


def normalise(line: str) -> str:
    return " ".join(line.split())


def code_lines(source: str) -> list[tuple[int, str]]:
    """(line number, normalised text) of each line of code: no docstrings, no comments."""
    try:
        tree = ast.parse(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, tokenize.TokenError):
        return [(n, normalise(line)) for n, line in enumerate(source.splitlines(), 1) if line.strip()]
    docs: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                docs.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    comment_at = {t.start[0]: t.start[1] for t in tokens if t.type == tokenize.COMMENT}
    out = []
    for n, line in enumerate(source.splitlines(), 1):
        if n in docs:
            continue
        text = normalise(line[:comment_at[n]] if n in comment_at else line)
        if text:
            out.append((n, text))
    return out


def computes(text: str) -> bool:
    """Whether a line of code computes something: a call or an operator outside string literals.

    ``for name in NAMES:``, ``B, T, d = x.shape`` and ``KEYS = ("W1", "b1")`` name things; they give
    no answer away and appear in checks by chance.
    """
    tokens = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text + "\n").readline):
            tokens.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # a line cut out of a longer statement: the tokens read so far are enough
    for prev, tok in zip([None, *tokens], tokens):
        if tok.type == tokenize.OP and tok.string in OPERATORS:
            return True
        if tok.type == tokenize.OP and tok.string == "(" and prev is not None and \
                (prev.type == tokenize.NAME and not keyword.iskeyword(prev.string) or prev.string in (")", "]")):
            return True
    return False


def secret_lines(source: str, public: str) -> list[tuple[int, str]]:
    """The lines of a solution worth hiding: code that computes, not trivial, not already in the public stub."""
    shown = "\n".join(normalise(line) for line in public.splitlines())
    return [(n, text) for n, text in code_lines(source)
            if len(text.replace(" ", "")) >= MIN_CHARS and not TRIVIAL.match(text) and computes(text)
            and text not in shown]


def _texts(root: Path) -> list[tuple[str, list[str]]]:
    files = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if path.suffix == ".ipynb":
            text = notebook_text(text)
        files.append((path.relative_to(root).as_posix(), [normalise(line) for line in text.splitlines()]))
    return files


def notebook_text(text: str) -> str:
    """A notebook's cell sources and text outputs, then its JSON text (the JSON alone when it is no notebook):
    a leak's line number counts the lines of the cells, one after the other."""
    try:
        cells = json.loads(text).get("cells", [])
        parts = []
        for cell in cells:
            parts.append(_joined(cell.get("source", "")))
            for output in cell.get("outputs", []):
                parts.append(_joined(output.get("text", "")))
                parts += [_joined(v) for k, v in output.get("data", {}).items() if k.startswith("text/")]
        return "\n".join([*parts, text])
    except (ValueError, AttributeError, TypeError):
        return text


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def find_leaks(solutions: Path, exercise_ids: list[str], tree: Path, stubs: Path | None = None) -> list[Leak]:
    """Every secret line of ``solutions/<id>/*.py`` found in a text file under ``tree``.

    The public lines of each exercise come from ``<stubs or tree>/exercises/<id>/<id>.py``.
    """
    stubs = stubs or tree
    files = _texts(tree)
    joined = [(name, "\n".join(lines)) for name, lines in files]
    by_name = dict(files)
    leaks: list[Leak] = []
    for exercise in exercise_ids:
        stub = stubs / "exercises" / exercise / f"{exercise}.py"
        public = stub.read_text(encoding="utf-8") if stub.is_file() else ""
        for path in sorted((solutions / exercise).rglob("*.py")):
            try:
                source = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            where_solution = path.relative_to(solutions.parent).as_posix()
            for n, needle in secret_lines(source, public):
                for name, text in joined:
                    if needle in text:
                        at = next(i for i, line in enumerate(by_name[name], 1) if needle in line)
                        leaks.append(Leak(f"{where_solution}:{n}", needle, f"{name}:{at}"))
                        break
    return leaks
