"""Stage a submission (a folder or a .zip laid out as ``<id>/<id>.py``) into a clean scratch folder.

Staging copies only regular files of known exercises, never follows a link out of the submission,
and refuses paths that escape, archives that are not zips, bombs and enormous files. A problem with
one exercise is recorded against that exercise alone; the others are still graded.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILE_BYTES = 2 * 2**20
MAX_TOTAL_BYTES = 64 * 2**20
MAX_FILES = 2000
SKIP_NAMES = {"exercise.toml", "conftest.py", "README.md", "__pycache__", ".pytest_cache"}


@dataclass(frozen=True)
class Staged:
    """A staged submission: the folder workers copy, and what was found or wrong per exercise."""

    root: Path
    found: tuple[str, ...]
    problems: dict = field(default_factory=dict)  # exercise id -> reason it cannot be graded
    error: str | None = None  # the whole submission could not be read


def _skip(name: str) -> bool:
    return name in SKIP_NAMES or name.startswith("test_") or name.endswith(".pyc")


def _check_source(exercise: str, data: bytes, problems: dict) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.setdefault(exercise, f"{exercise}/{exercise}.py is not valid UTF-8 text (byte {exc.start})")


def stage(source: Path, exercise_ids: list[str], dest: Path) -> Staged:
    """Copy the usable files of ``source`` for ``exercise_ids`` into ``dest`` (created empty)."""
    dest.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        return _stage_dir(source, exercise_ids, dest)
    if source.is_file():
        return _stage_zip(source, exercise_ids, dest)
    return Staged(dest, (), {}, f"submission {source} does not exist")


def _stage_dir(source: Path, ids: list[str], dest: Path) -> Staged:
    source = source.resolve()
    root = _find_root_dir(source, ids)
    problems: dict = {}
    found: list[str] = []
    total = 0
    for exercise in ids:
        folder = root / exercise
        main = folder / f"{exercise}.py"
        if not os.path.lexists(main):
            continue
        count = 0
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if not _skip(d) and not os.path.islink(os.path.join(dirpath, d))]
            for name in filenames:
                if _skip(name):
                    continue
                path = Path(dirpath, name)
                rel = path.relative_to(root)
                if path.is_symlink():
                    target = path.resolve()
                    if not target.is_relative_to(root) or not target.is_file():
                        problems.setdefault(exercise, f"{rel} is a link that points outside the submission")
                        continue
                    path = target
                try:
                    st = path.stat()
                except OSError as exc:
                    problems.setdefault(exercise, f"{rel} cannot be read ({exc.strerror})")
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                count += 1
                total += st.st_size
                if st.st_size > MAX_FILE_BYTES:
                    problems.setdefault(exercise, f"{rel} is too large ({st.st_size // 1024} KiB; limit "
                                                  f"{MAX_FILE_BYTES // 1024} KiB)")
                    continue
                if count > MAX_FILES or total > MAX_TOTAL_BYTES:
                    problems.setdefault(exercise, "the submission holds too many or too large files")
                    continue
                data = path.read_bytes()
                if rel == PurePosixPath(exercise, f"{exercise}.py"):
                    _check_source(exercise, data, problems)
                out = dest / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
        if (dest / exercise / f"{exercise}.py").is_file():
            found.append(exercise)
        else:
            problems.setdefault(exercise, f"{exercise}/{exercise}.py could not be read")
    return Staged(dest, tuple(found), problems)


def _find_root_dir(source: Path, ids: list[str]) -> Path:
    """The submission's root: itself, or a single wrapping folder (``mywork/sigmoid/sigmoid.py``)."""
    current = source
    for _ in range(3):
        if any((current / i / f"{i}.py").exists() for i in ids):
            return current
        entries = [p for p in current.iterdir() if not p.name.startswith((".", "__"))] if current.is_dir() else []
        if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
            current = entries[0]
        else:
            break
    return source


def _stage_zip(source: Path, ids: list[str], dest: Path) -> Staged:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return Staged(dest, (), {}, f"{source.name} is not a readable zip archive ({exc})")
    problems: dict = {}
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_FILES * 5:
            return Staged(dest, (), {}, f"{source.name} holds too many entries ({len(infos)})")
        names = [PurePosixPath(i.filename) for i in infos]
        prefix = _zip_prefix(names, ids)
        total = 0
        for info, name in zip(infos, names):
            if info.is_dir():
                continue
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename:
                problems.setdefault(_exercise_of(name, prefix, ids) or "*",
                                    f"{info.filename} escapes the archive's root and was ignored")
                continue
            try:
                rel = name.relative_to(prefix) if prefix.parts else name
            except ValueError:
                continue
            if not rel.parts or rel.parts[0] not in ids or any(_skip(p) for p in rel.parts):
                continue
            exercise = rel.parts[0]
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                problems.setdefault(exercise, f"{rel} is a link, which submissions may not contain")
                continue
            if info.file_size > MAX_FILE_BYTES:
                problems.setdefault(exercise, f"{rel} is too large ({info.file_size // 1024} KiB; limit "
                                              f"{MAX_FILE_BYTES // 1024} KiB)")
                continue
            try:
                with archive.open(info) as f:
                    data = f.read(MAX_FILE_BYTES + 1)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, ValueError) as exc:
                problems.setdefault(exercise, f"{rel} cannot be extracted ({exc})")
                continue
            if len(data) > MAX_FILE_BYTES:  # the header lied about the size: a zip bomb
                problems.setdefault(exercise, f"{rel} expands beyond the size limit")
                continue
            total += len(data)
            if total > MAX_TOTAL_BYTES:
                return Staged(dest, (), {}, f"{source.name} expands beyond {MAX_TOTAL_BYTES // 2**20} MiB")
            if rel == PurePosixPath(exercise, f"{exercise}.py"):
                _check_source(exercise, data, problems)
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
    stray = problems.pop("*", None)
    found = tuple(i for i in ids if (dest / i / f"{i}.py").is_file())
    if stray and not found:
        return Staged(dest, (), problems, stray)
    return Staged(dest, found, problems)


def _zip_prefix(names: list[PurePosixPath], ids: list[str]) -> PurePosixPath:
    """The folder inside the archive that holds ``<id>/<id>.py`` (often a single top folder)."""
    best: PurePosixPath | None = None
    for name in names:
        if len(name.parts) >= 2 and name.parts[-2] in ids and name.name == f"{name.parts[-2]}.py":
            parent = PurePosixPath(*name.parts[:-2]) if len(name.parts) > 2 else PurePosixPath()
            if len(parent.parts) <= 3 and (best is None or len(parent.parts) < len(best.parts)):
                best = parent
    return best if best is not None else PurePosixPath()


def _exercise_of(name: PurePosixPath, prefix: PurePosixPath, ids: list[str]) -> str | None:
    for part in name.parts:
        if part in ids:
            return part
    return None


def clear(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
