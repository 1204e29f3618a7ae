"""How long the reference answer's calls take, per check: what a check's call limit is derived from.

``exercises/<id>/reference_times.toml`` holds, per device and check file, the slowest call of the
reference answer in each check, in seconds. ``grade selfcheck`` writes it (when it is missing or
out of date, or with ``--record-times``) and ``grade release`` ships it. A call of a check may then
take ``CALL_FACTOR`` × that time plus ``CALL_FLOOR`` seconds, never more than the call limit
(``--call-timeout``). A time is used only while the check's file is unchanged (its SHA-256 is
recorded beside it); a check without a current time gets the call limit itself.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

from grader.course.discover import Exercise
from grader.course.withheld import toml_string

FILE = "reference_times.toml"
CALL_FACTOR = 20.0
CALL_FLOOR = 2.0


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def load(exercise: Exercise, device: str) -> dict[str, float]:
    """check name -> the reference's slowest call in seconds, for the checks whose files are unchanged."""
    path = exercise.path / FILE
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    digests = doc.get("files", {}) if isinstance(doc.get("files"), dict) else {}
    times: dict[str, float] = {}
    for file, checks in (doc.get(device.split(":")[0]) or {}).items():
        check_file = exercise.path / file
        try:
            current = file_digest(check_file) if check_file.is_file() else None
        except OSError:
            current = None
        if current is None or digests.get(file) != current or not isinstance(checks, dict):
            continue
        for name, seconds in checks.items():
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0:
                times[str(name)] = float(seconds)
    return times


def load_all(exercise: Exercise) -> dict:
    """Everything recorded, as written: device -> check file -> check name -> seconds."""
    try:
        doc = tomllib.loads((exercise.path / FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    return {k: v for k, v in doc.items() if k != "files" and isinstance(v, dict)}


def limit(reference_s: float | None, call_seconds: float) -> float:
    """The time one call of a check may take."""
    if reference_s is None:
        return call_seconds
    return min(call_seconds, CALL_FACTOR * reference_s + CALL_FLOOR)


def current(exercise: Exercise, device: str) -> bool:
    """Whether the recorded times cover every check file of the exercise as it is now."""
    path = exercise.path / FILE
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    digests = doc.get("files", {}) if isinstance(doc.get("files"), dict) else {}
    files = {p.name: file_digest(p) for p in exercise.public_checks + exercise.hidden_checks}
    return digests == files and device.split(":")[0] in doc


def text(exercise: Exercise, times: dict[str, dict[str, dict[str, float]]]) -> str:
    """The file's text: ``times`` is device -> check file -> check name -> seconds."""
    files = {p.name: file_digest(p) for p in exercise.public_checks + exercise.hidden_checks}
    lines = [f"# The reference answer's slowest call in each check of {exercise.id}, in seconds. Written by",
             "# `grade selfcheck`: a check's calls may take 20 x this + 2 s (at most --call-timeout) while its",
             "# file is unchanged (the digests below).", "", "[files]"]
    lines += [f"{toml_string(name)} = {toml_string(d)}" for name, d in sorted(files.items())]
    for device in sorted(times):
        for file in sorted(times[device]):
            if file not in files:
                continue
            lines += ["", f"[{device}.{toml_string(file)}]"]
            lines += [f"{toml_string(name)} = {seconds:.6f}" for name, seconds in sorted(times[device][file].items())]
    return "\n".join(lines) + "\n"
