"""Settings for one grading run, resolved in one place: command line, then ``[tool.grade]``, then defaults
(for the language, the locale before the default)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from grader.errors import GraderError
from grader.messages import resolve_language
from grader.units import parse_size
from grader.sandbox.protocol import Limits

DEVICES = ("cpu", "cuda", "auto")


@dataclass(frozen=True)
class Settings:
    course: Path
    submission: Path
    exercises: tuple[str, ...] = ()
    device: str = "cpu"
    timing: bool = True
    limits: Limits = field(default_factory=Limits)
    namespaces: bool = True
    release: bool = False  # a student release: hidden checks are absent and shown as not run
    lang: str = "en"  # the language of the reports people read (grader/messages.py)


def _positive(value: object, where: str) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = -1.0
    if v <= 0:
        raise GraderError(f"invalid value {value!r} in {where} (a positive number)")
    return v


def resolve_limits(table: dict, overrides: dict, where: str) -> Limits:
    """Limits from ``[tool.grade.limits]`` with command-line overrides on top."""
    merged = {**table, **{k: v for k, v in overrides.items() if v is not None}}
    known = {f.name for f in fields(Limits)}
    unknown = set(merged) - known
    if unknown:
        raise GraderError(f"unknown limit {sorted(unknown)[0]!r} in {where} (known: {', '.join(sorted(known))})")
    values = {}
    for name, raw in merged.items():
        if name.endswith("_bytes"):
            values[name] = parse_size(raw, f"{where} limits.{name}")
        elif name in ("call_seconds", "import_seconds", "submission_seconds"):
            values[name] = _positive(raw, f"{where} limits.{name}")
        else:
            values[name] = int(_positive(raw, f"{where} limits.{name}"))
    return replace(Limits(), **values)


def resolve_device(requested: str) -> str:
    if requested not in DEVICES:
        raise GraderError(f"invalid device {requested!r} (choose from {', '.join(DEVICES)})")
    if requested == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise GraderError("--device cuda was asked for, but torch sees no CUDA device here")
    return "cuda" if available else "cpu"


def resolve(*, course: Path, course_settings: dict, submission: Path | None, exercises: list[str] | None,
            device: str | None, timing: bool | None, limit_overrides: dict | None = None,
            lang: str | None = None) -> Settings:
    """Combine the command line with ``[tool.grade]`` (``course_settings``) and the defaults."""
    where = str(course / "pyproject.toml") + " [tool.grade]"
    device = device or os.environ.get("GRADE_DEVICE") or str(course_settings.get("device", "cpu"))
    if timing is None:
        timing = bool(course_settings.get("timing", True))
    limits = resolve_limits(dict(course_settings.get("limits", {})), limit_overrides or {}, where)
    return Settings(
        course=course, submission=(submission or course / "exercises").resolve(),
        exercises=tuple(exercises or ()), device=resolve_device(device), timing=timing, limits=limits,
        namespaces=bool(course_settings.get("namespaces", True)),
        release=bool(course_settings.get("release", False)),
        lang=resolve_language(lang, course_settings, where))
