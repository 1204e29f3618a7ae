"""Find a course on disk and read its exercises into plain dataclasses."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_TRACKS = ("foundations", "large-models", "efficiency")


@dataclass(frozen=True)
class Exercise:
    """One exercise folder: ``exercises/<id>/`` with its statement, metadata, stub and checks."""

    id: str
    title: str
    track: str
    order: int
    path: Path
    functions: tuple[str, ...]
    forbidden: dict = field(default_factory=dict, repr=False)
    timing: tuple[dict, ...] = field(default=(), repr=False)
    memory: tuple[dict, ...] = field(default=(), repr=False)
    depends: tuple[str, ...] = ()
    summary: str = ""
    weight: float | None = None  # the points its correctness checks are worth in all (scaled to it)
    provided: tuple[str, ...] = ()  # functions the stub gives ready-made that checks may call or time

    @property
    def callable(self) -> tuple[str, ...]:
        """What checks and budgets may call: the functions students write and the ones provided."""
        return self.functions + tuple(f for f in self.provided if f not in self.functions)

    def title_in(self, lang: str) -> str:
        """The title in ``lang``: for ``zh`` the first heading of ``README.zh.md``, else the toml's title."""
        if lang == "en":
            return self.title
        try:
            first = (self.path / f"README.{lang}.md").read_text(encoding="utf-8").lstrip().splitlines()[0]
        except (OSError, IndexError, UnicodeDecodeError):
            return self.title
        return first[2:].strip() or self.title if first.startswith("# ") else self.title

    @property
    def stub(self) -> Path:
        return self.path / f"{self.id}.py"

    @property
    def public_checks(self) -> tuple[Path, ...]:
        return tuple(sorted(p for p in self.path.glob("test_*.py") if not is_hidden(p)))

    @property
    def hidden_checks(self) -> tuple[Path, ...]:
        return tuple(sorted(p for p in self.path.glob("test_*.py") if is_hidden(p)))

    @property
    def toml(self) -> Path:
        return self.path / "exercise.toml"


def is_hidden(path: Path) -> bool:
    """Hidden checks live in ``test_hidden*.py`` so that a release can leave them out."""
    return path.name.startswith("test_hidden")


@dataclass(frozen=True)
class Course:
    root: Path
    id: str
    title: str
    tracks: tuple[str, ...]
    exercises: tuple[Exercise, ...]
    settings: dict = field(default_factory=dict, repr=False)

    def _translation(self, lang: str) -> dict:
        table = self.settings.get("translations", {})
        return table.get(lang, {}) if isinstance(table, dict) and isinstance(table.get(lang, {}), dict) else {}

    def title_in(self, lang: str) -> str:
        """The course's title in ``lang``: ``[tool.grade.translations.<lang>] course_title``, else its title."""
        return str(self._translation(lang).get("course_title", self.title))

    def track_titles_in(self, lang: str) -> dict[str, str]:
        """Track names in ``lang`` from ``[tool.grade.translations.<lang>] tracks`` (none: writers use the id)."""
        tracks = self._translation(lang).get("tracks", {})
        return {str(k): str(v) for k, v in tracks.items()} if isinstance(tracks, dict) else {}

    def get(self, exercise_id: str) -> Exercise:
        for e in self.exercises:
            if e.id == exercise_id:
                return e
        known = ", ".join(e.id for e in self.exercises)
        raise GraderError(f"unknown exercise {exercise_id!r} (known: {known})")

    def select(self, ids: list[str] | None) -> tuple[Exercise, ...]:
        if not ids:
            return self.exercises
        return tuple(self.get(i) for i in dict.fromkeys(ids))


def find_course(start: Path) -> Path:
    """The nearest folder at or above ``start`` that holds ``exercises/``."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / "exercises").is_dir():
            return candidate
    raise GraderError(f"no course found at or above {start} (a course is a folder with exercises/)")


def _load_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GraderError(f"cannot read {path}: {exc}") from None


def load_exercise(path: Path, tracks: tuple[str, ...]) -> Exercise:
    meta = _load_toml(path / "exercise.toml")
    exercise_id = path.name
    if not ID_PATTERN.match(exercise_id):
        raise GraderError(f"invalid exercise id {exercise_id!r} in {path}")
    for key in ("title", "track", "order", "functions"):
        if key not in meta:
            raise GraderError(f"missing {key!r} in {path / 'exercise.toml'}")
    if meta["track"] not in tracks:
        raise GraderError(f"invalid track {meta['track']!r} in {path / 'exercise.toml'} (tracks: {', '.join(tracks)})")
    functions = meta["functions"]
    if not (isinstance(functions, list) and functions and all(isinstance(f, str) for f in functions)):
        raise GraderError(f"invalid functions {functions!r} in {path / 'exercise.toml'}")
    weight = meta.get("weight")
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0):
        raise GraderError(f"invalid weight {weight!r} in {path / 'exercise.toml'} (a positive number of points)")
    return Exercise(
        id=exercise_id, title=str(meta["title"]), track=str(meta["track"]), order=int(meta["order"]),
        path=path, functions=tuple(functions), forbidden=dict(meta.get("forbidden", {})),
        timing=tuple(meta.get("timing", ())), memory=tuple(meta.get("memory", ())),
        depends=tuple(meta.get("depends", ())), summary=str(meta.get("summary", "")),
        weight=float(weight) if weight is not None else None, provided=_names(meta.get("provided", []), path))


def _names(value, path: Path) -> tuple[str, ...]:
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise GraderError(f"invalid provided {value!r} in {path / 'exercise.toml'} (a list of function names)")
    return tuple(value)


def load_course(root: Path) -> Course:
    """Read ``root/exercises/*/exercise.toml`` and ``[tool.grade]`` of ``root/pyproject.toml``."""
    root = root.resolve()
    settings: dict = {}
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        settings = _load_toml(pyproject).get("tool", {}).get("grade", {})
    tracks = tuple(settings.get("tracks", DEFAULT_TRACKS))
    exercises = [load_exercise(p.parent, tracks) for p in sorted((root / "exercises").glob("*/exercise.toml"))]
    exercises.sort(key=lambda e: (tracks.index(e.track), e.order, e.id))
    ids = {e.id for e in exercises}
    for e in exercises:
        for dep in e.depends:
            if dep not in ids:
                raise GraderError(f"exercise {e.id!r} depends on unknown exercise {dep!r}")
    return Course(root=root, id=str(settings.get("course_id", root.name)),
                  title=str(settings.get("course_title", root.name)), tracks=tracks,
                  exercises=tuple(exercises), settings=settings)
