"""A class's students: one per folder, ``.zip`` or notebook (``.ipynb``) of a submissions folder, with a
digest of its content."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from grader.course.notebook import SUFFIX as NOTEBOOK, require_nbformat
from grader.errors import GraderError
from grader.sandbox.staging import MAX_FILE_BYTES


@dataclass(frozen=True)
class Student:
    name: str
    path: Path
    digest: str  # sha256 of the submission's content: a changed submission is graded again


def submission_digest(path: Path) -> str:
    """sha256 of a .zip's or a notebook's bytes, or of a folder's relative paths and file contents (links not followed)."""
    h = hashlib.sha256()
    if not path.is_dir():
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath, name)
            h.update(str(p.relative_to(path)).encode() + b"\0")
            try:
                if p.is_symlink():
                    h.update(b"link:" + os.readlink(p).encode())
                elif p.stat().st_size > MAX_FILE_BYTES:  # staging skips it; its size and time will do
                    st = p.stat()
                    h.update(f"big:{st.st_size}:{st.st_mtime_ns}".encode())
                else:
                    h.update(p.read_bytes())
            except OSError as exc:
                h.update(f"unreadable:{exc.strerror}".encode())
            h.update(b"\0")
    return h.hexdigest()


def find_students(folder: Path, out: Path) -> tuple[list[Student], list[str]]:
    """One Student per folder, .zip or .ipynb in ``folder`` (sorted by name), and the entries ignored.

    Notebooks are read with nbformat: without it, a class that holds one stops here, saying what to
    install, rather than reporting every notebook as unreadable.
    """
    if not folder.is_dir():
        raise GraderError(f"submissions folder {folder} is not a folder")
    out = out.resolve()
    students: dict[str, Student] = {}
    ignored: list[str] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        resolved = entry.resolve()
        if resolved == out or out.is_relative_to(resolved):
            continue  # the output folder inside the submissions folder is no student
        if entry.is_dir():
            name = entry.name
        elif entry.is_file() and entry.suffix.lower() in (".zip", NOTEBOOK):
            name = entry.name[: -len(entry.suffix)]
        else:
            ignored.append(entry.name)
            continue
        if name in students:
            raise GraderError(f"two submissions for student {name!r} in {folder}: "
                              f"{students[name].path.name} and {entry.name}")
        students[name] = Student(name, entry, submission_digest(entry))
    if not students:
        raise GraderError(f"no submissions in {folder} (expected one folder, .zip or .ipynb per student)")
    notebooks = [s.path.name for s in students.values() if s.path.suffix.lower() == NOTEBOOK]
    if notebooks:
        try:
            require_nbformat()
        except GraderError as exc:
            raise GraderError(f"{folder} holds notebooks ({', '.join(notebooks[:3])}"
                              f"{', ...' if len(notebooks) > 3 else ''}); {exc}") from None
    return list(students.values()), ignored
