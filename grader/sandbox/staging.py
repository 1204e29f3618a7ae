"""Stage a submission (a folder or a .zip laid out as ``<id>/<id>.py``) into a clean scratch folder.

Staging copies only regular files of known exercises and never follows a link out of the
submission. It refuses paths that escape, archives that are not zips, zip bombs, enormous or
numerous files and deep trees. A problem with one exercise is recorded against that exercise
alone (its checks fail with the reason); the other exercises are still graded. Nothing a
submission contains can make staging raise.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.messages import Message

MAX_FILE_BYTES = 2 * 2**20  # one file
MAX_EXERCISE_BYTES = 16 * 2**20  # one exercise's folder
MAX_TOTAL_BYTES = 64 * 2**20  # everything staged (each worker copies it into its scratch)
MAX_FILES = 500  # files in one exercise's folder
MAX_DEPTH = 8  # folders below the exercise's folder
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_WORK = 128 * 2**20  # bytes decompressed in all, refused entries included
MAX_NAME_BYTES = 255
SKIP_NAMES = {"exercise.toml", "conftest.py", "README.md", "README.zh.md", "reference_times.toml", "hidden.toml",
              "__pycache__", ".pytest_cache"}
CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")  # PEP 263 declaration


@dataclass(frozen=True)
class Staged:
    """A staged submission: the folder workers copy, and what was found or wrong per exercise."""

    root: Path
    found: tuple[str, ...]
    problems: dict = field(default_factory=dict)  # exercise id -> reason it cannot be graded
    error: str | None = None  # the whole submission could not be read


def _skip(name: str) -> bool:
    return name in SKIP_NAMES or name.startswith("test_") or name.endswith(".pyc")


def _source_problem(rel: PurePosixPath, data: bytes) -> str | None:
    """Why a ``.py`` file cannot be imported as text, or None."""
    if rel.suffix != ".py":
        return None
    if any(CODING.match(line) for line in data.split(b"\n", 2)[:2]):
        return None  # an explicit encoding: Python decodes it, or reports a SyntaxError itself
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"{rel} is not valid UTF-8 text (byte {exc.start})"
    return None


class _Budget:
    """Sizes staged so far, per exercise and in all."""

    def __init__(self) -> None:
        self.total = 0
        self.per_exercise: dict[str, tuple[int, int]] = {}  # id -> (files, bytes)

    def refuse(self, exercise: str, rel: PurePosixPath, size: int) -> str | None:
        files, used = self.per_exercise.get(exercise, (0, 0))
        if size > MAX_FILE_BYTES:
            return f"{rel} is too large ({size // 1024} KiB; the limit is {MAX_FILE_BYTES // 1024} KiB a file)"
        if files + 1 > MAX_FILES:
            return f"{exercise}/ holds too many files (the limit is {MAX_FILES})"
        if used + size > MAX_EXERCISE_BYTES:
            return f"{exercise}/ is too large (the limit is {MAX_EXERCISE_BYTES // 2**20} MiB)"
        if self.total + size > MAX_TOTAL_BYTES:
            return f"the submission is too large (the limit is {MAX_TOTAL_BYTES // 2**20} MiB in all)"
        return None

    def take(self, exercise: str, size: int) -> None:
        files, used = self.per_exercise.get(exercise, (0, 0))
        self.per_exercise[exercise] = (files + 1, used + size)
        self.total += size


def _write(dest: Path, rel: PurePosixPath, data: bytes) -> str | None:
    """Write one staged file; the reason it could not be written, or None."""
    out = dest.joinpath(*rel.parts)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "xb") as f:
            f.write(data)
    except FileExistsError:
        try:
            out.write_bytes(data)  # the same name twice in an archive: the last one wins
        except OSError as exc:
            return f"{rel} cannot be staged ({exc.strerror or exc})"
    except (OSError, ValueError) as exc:
        return f"{rel} cannot be staged ({getattr(exc, 'strerror', None) or exc})"
    return None


def stage(source: Path, exercise_ids: list[str], dest: Path) -> Staged:
    """Copy the usable files of ``source`` for ``exercise_ids`` into ``dest`` (created empty)."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if source.is_dir():
            staged = _stage_dir(source, exercise_ids, dest)
        elif source.is_file():
            staged = _stage_zip(source, exercise_ids, dest)
        else:
            return Staged(dest, (), {}, Message("submission.missing", {"path": str(source)}))
    except (OSError, ValueError, RuntimeError) as exc:  # an unreadable folder, a name the OS refuses
        return Staged(dest, (), {}, f"the submission could not be read ({exc})")
    # An exercise with a problem is not graded from a partial copy.
    found = tuple(i for i in staged.found if i not in staged.problems)
    return Staged(staged.root, found, staged.problems, staged.error)


# Folders ---------------------------------------------------------------------------------------

def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _stage_dir(source: Path, ids: list[str], dest: Path) -> Staged:
    root = _find_root_dir(Path(os.path.realpath(source)), ids)
    real_root = os.path.realpath(root)
    problems: dict = {}
    budget = _Budget()
    for exercise in ids:
        folder = root / exercise
        if not os.path.lexists(folder):
            continue
        real_folder = os.path.realpath(folder)
        if not _inside(real_folder, real_root) or not os.path.isdir(real_folder):
            problems[exercise] = Message("staging.link_outside", {"path": exercise})
            continue
        _stage_folder(Path(real_folder), exercise, real_root, dest, budget, problems)
    found = tuple(i for i in ids if (dest / i / f"{i}.py").is_file())
    for exercise in ids:
        if os.path.lexists(root / exercise) and exercise not in found:
            problems.setdefault(exercise, Message("staging.file_missing", {"exercise": exercise}))
    return Staged(dest, found, problems)


def _stage_folder(folder: Path, exercise: str, real_root: str, dest: Path, budget: _Budget,
                  problems: dict) -> None:
    """Copy one exercise's folder, breadth first, never through a link that leaves the submission."""
    pending: list[tuple[Path, PurePosixPath, int]] = [(folder, PurePosixPath(exercise), 0)]
    while pending:
        here, rel_here, depth = pending.pop(0)
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as exc:
            problems.setdefault(exercise, f"{rel_here} cannot be read ({exc.strerror})")
            continue
        for entry in entries:
            rel = rel_here / entry.name
            if _skip(entry.name):
                continue
            try:
                st = os.lstat(entry.path)
            except OSError as exc:
                problems.setdefault(exercise, f"{rel} cannot be read ({exc.strerror})")
                continue
            path = entry.path
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(entry.path)
                if not _inside(target, real_root):
                    problems.setdefault(exercise, Message("staging.link_outside", {"path": str(rel)}))
                    continue
                try:
                    st = os.stat(target)
                except OSError:
                    problems.setdefault(exercise, f"{rel} is a broken link")
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue  # a link to a folder inside the submission: its files are staged there
                path = target
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 > MAX_DEPTH:
                    problems.setdefault(exercise, f"{rel} is nested too deeply (the limit is {MAX_DEPTH} folders)")
                else:
                    pending.append((Path(path), rel, depth + 1))
                continue
            if not stat.S_ISREG(st.st_mode):
                continue  # fifos, sockets, devices: never opened
            refusal = budget.refuse(exercise, rel, st.st_size)
            if refusal:
                problems.setdefault(exercise, refusal)
                continue
            try:
                with open(path, "rb") as f:
                    data = f.read(MAX_FILE_BYTES + 1)
            except OSError as exc:
                problems.setdefault(exercise, f"{rel} cannot be read ({exc.strerror})")
                continue
            if len(data) > MAX_FILE_BYTES:
                problems.setdefault(exercise, f"{rel} is too large (the limit is {MAX_FILE_BYTES // 1024} KiB a file)")
                continue
            budget.take(exercise, len(data))
            reason = _source_problem(rel, data) or _write(dest, rel, data)
            if reason:
                problems.setdefault(exercise, reason)


def _find_root_dir(source: Path, ids: list[str]) -> Path:
    """The submission's root: itself, or a single wrapping folder (``mywork/sigmoid/sigmoid.py``)."""
    current = source
    for _ in range(3):
        try:
            if any(os.path.lexists(current / i / f"{i}.py") for i in ids):
                return current
            entries = [p for p in current.iterdir() if not p.name.startswith((".", "__"))]
        except OSError:
            break
        if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
            current = entries[0]
        else:
            break
    return source


# Zip archives ----------------------------------------------------------------------------------

def _stage_zip(source: Path, ids: list[str], dest: Path) -> Staged:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        return Staged(dest, (), {}, f"{source.name} is not a readable zip archive ({exc})")
    problems: dict = {}
    budget = _Budget()
    work = 0
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            return Staged(dest, (), {}, f"{source.name} holds too many entries ({len(infos)}; "
                                        f"the limit is {MAX_ZIP_ENTRIES})")
        names = [PurePosixPath(i.filename) for i in infos]
        prefix = _zip_prefix(names, ids)
        for info, name in zip(infos, names):
            if info.is_dir():
                continue
            exercise = _exercise_of(PurePosixPath(info.filename.replace("\\", "/")), prefix, ids)
            if name.is_absolute() or ".." in name.parts or "\\" in info.filename or "\x00" in info.filename:
                problems.setdefault(exercise or "*", f"{info.filename!r} escapes the archive's root")
                continue
            try:
                rel = name.relative_to(prefix) if prefix.parts else name
            except ValueError:
                continue
            if not rel.parts or rel.parts[0] not in ids or any(_skip(p) for p in rel.parts):
                continue
            exercise = rel.parts[0]
            if stat.S_ISLNK(info.external_attr >> 16):
                problems.setdefault(exercise, f"{rel} is a link, which a submission may not contain")
                continue
            if len(rel.parts) > MAX_DEPTH + 2 or any(len(p.encode()) > MAX_NAME_BYTES for p in rel.parts):
                problems.setdefault(exercise, f"{str(rel)[:200]} is nested too deeply or named too long")
                continue
            refusal = budget.refuse(exercise, rel, info.file_size)
            if refusal:
                problems.setdefault(exercise, refusal)
                continue
            if work > MAX_ZIP_WORK:
                problems.setdefault(exercise, f"{source.name} expands beyond {MAX_ZIP_WORK // 2**20} MiB")
                continue
            try:
                with archive.open(info) as f:
                    data = f.read(MAX_FILE_BYTES + 1)
            except Exception as exc:  # noqa: BLE001 - zipfile and zlib raise many types on crafted input
                problems.setdefault(exercise, f"{rel} cannot be extracted ({type(exc).__name__}: {exc})")
                continue
            work += len(data)
            if len(data) > MAX_FILE_BYTES or len(data) != info.file_size:
                # The header lied about the size: a zip bomb, or a damaged archive.
                problems.setdefault(exercise, f"{rel} expands beyond its declared size (a zip bomb?)")
                continue
            budget.take(exercise, len(data))
            reason = _source_problem(rel, data) or _write(dest, rel, data)
            if reason:
                problems.setdefault(exercise, reason)
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
            if len(parent.parts) <= 3 and ".." not in parent.parts and not parent.is_absolute() and (
                    best is None or len(parent.parts) < len(best.parts)):
                best = parent
    return best if best is not None else PurePosixPath()


def _exercise_of(name: PurePosixPath, prefix: PurePosixPath, ids: list[str]) -> str | None:
    for part in name.parts:
        if part in ids:
            return part
    return None


def clear(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
