"""``grade submit``: pack a student's working copy into the zip they hand in.

The zip holds ``<id>/<id>.py`` and any other ``.py`` file under ``<id>/`` for each exercise (never
checks, statements or metadata, which the grader brings itself) and ``grade-submission.json``: the
course id, the grader version, the time and a SHA-256 per file. Grading reads only ``<id>/``
folders, so the manifest is ignored there; it is for the student's and the instructor's records.

From a notebook, the zip holds the files its marked cells export (``course/notebook.py``) and the
manifest names the notebook, its SHA-256 and the cells of each exercise. A notebook that cannot be
exported whole (a magic in a marked cell, two answers to one exercise, a marker naming no exercise)
is refused with every reason, rather than packed without the exercises it would lose.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from grader import __version__
from grader.course.discover import load_course
from grader.course.notebook import export_notebook, is_notebook, read_notebook, refusals
from grader.errors import GraderError
from grader.sandbox.staging import MAX_FILE_BYTES, SKIP_NAMES

MANIFEST = "grade-submission.json"
SCHEMA = "grade-submission/1"


@dataclass(frozen=True)
class Packed:
    out: Path
    files: tuple[str, ...]
    exercises: tuple[str, ...]
    untouched: tuple[str, ...]  # exercises whose functions all still raise NotImplementedError
    warnings: tuple[str, ...] = ()  # from a notebook: names its marked cells use that the export lacks


def _wanted(path: Path, folder: Path) -> bool:
    rel = path.relative_to(folder)
    return path.suffix == ".py" and path.is_file() and not path.is_symlink() and not any(
        part in SKIP_NAMES or part.startswith((".", "test_")) for part in rel.parts)


def is_untouched(source: str, functions: tuple[str, ...]) -> bool:
    """Whether every listed function's body is still only ``raise NotImplementedError`` (and a docstring)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    bodies = {n.name: n.body for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for name in functions:
        body = [s for s in bodies.get(name, []) if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        if len(body) != 1 or not isinstance(body[0], ast.Raise) or "NotImplementedError" not in ast.unparse(body[0]):
            return False
    return True


def pack_submission(*, course_dir: Path, out: Path, source: Path | None = None,
                    exercises: list[str] | None = None) -> Packed:
    """Write ``out`` (a .zip) from ``source``: a folder (default: the course's ``exercises/``) or a notebook."""
    course = load_course(course_dir)
    chosen = course.select(exercises)
    source = (source or course.root / "exercises").resolve()
    if out.suffix != ".zip":
        raise GraderError(f"--out {out} should name a .zip file")
    if is_notebook(source):
        with tempfile.TemporaryDirectory(prefix="grade-submit-") as tmp:
            return _pack_notebook(course, source, out, exercises, chosen, Path(tmp))
    if not source.is_dir():
        raise GraderError(f"{source} is not a folder laid out as <id>/<id>.py, nor a notebook (.ipynb)")
    return _pack_folder(course, source, out, chosen)


def _pack_notebook(course, notebook_path: Path, out: Path, exercises, chosen, tmp: Path) -> Packed:
    notebook = read_notebook(notebook_path, course)
    ids = [e.id for e in chosen]
    stops = refusals(notebook, exercises)
    stops += [f"{e}: {reason}" for e, reason in notebook.problems.items() if e in ids]
    if stops:
        listed = "\n".join(f"  {s}" for s in stops)
        raise GraderError(f"{notebook_path.name} cannot be packed as it stands:\n{listed}\n"
                          "fix the notebook, or pack the other exercises alone with -e")
    exported = export_notebook(notebook, course, ids, tmp)
    cells = {e: [c.number for c in notebook.marked if c.exercise == e] for e in exported.found}
    record = {"name": notebook_path.name, "sha256": hashlib.sha256(notebook_path.read_bytes()).hexdigest(),
              "cells": cells}
    packed = _pack_folder(course, tmp, out, chosen, notebook=record)
    return Packed(packed.out, packed.files, packed.exercises, packed.untouched, exported.warnings)


def _pack_folder(course, source: Path, out: Path, chosen, notebook: dict | None = None) -> Packed:
    files: dict[str, bytes] = {}
    found, untouched = [], []
    for e in chosen:
        folder = source / e.id
        main = folder / f"{e.id}.py"
        if not main.is_file():
            continue
        found.append(e.id)
        for path in sorted(folder.rglob("*.py")):
            if _wanted(path, folder):
                if path.stat().st_size > MAX_FILE_BYTES:
                    raise GraderError(f"{path} is larger than the grader accepts ({MAX_FILE_BYTES // 1024} KiB)")
                files[path.relative_to(source).as_posix()] = path.read_bytes()
        if is_untouched(main.read_text(encoding="utf-8", errors="replace"), e.functions):
            untouched.append(e.id)
    if not found:
        raise GraderError(f"no exercise files found under {source} (expected <id>/<id>.py)")
    manifest = {
        "schema": SCHEMA, "course_id": course.id, "course_title": course.title, "grader_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "exercises": found,
        "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                  for name, data in files.items()},
    }
    if notebook is not None:
        manifest["notebook"] = notebook
    _write_zip(out, files, json.dumps(manifest, indent=2) + "\n")
    return Packed(out.resolve(), tuple(files), tuple(found), tuple(untouched))


def _write_zip(out: Path, files: dict[str, bytes], manifest: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, manifest)
            for name, data in files.items():
                archive.writestr(name, data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(path: Path) -> dict:
    """The manifest of a packed submission, with each file's hash checked against the archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            for name, meta in manifest.get("files", {}).items():
                if hashlib.sha256(archive.read(name)).hexdigest() != meta.get("sha256"):
                    raise GraderError(f"{path}: {name} does not match its hash in {MANIFEST}")
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise GraderError(f"{path} is not a packed submission: {exc}") from None
    if manifest.get("schema") != SCHEMA:
        raise GraderError(f"{path}: {MANIFEST} is not a {SCHEMA} document")
    return manifest
