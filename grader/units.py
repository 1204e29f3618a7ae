"""Sizes written by people ("2GiB", "512m") read as bytes, and bytes written for people."""

from __future__ import annotations

from grader.errors import GraderError

SIZE_UNITS = {"": 1, "k": 2**10, "kib": 2**10, "m": 2**20, "mib": 2**20, "g": 2**30, "gib": 2**30}


def parse_size(value: object, where: str) -> int:
    """Bytes from an int or a string such as ``"2GiB"`` or ``"512m"``."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        number = text.rstrip("kmgib")
        unit = text[len(number):]
        try:
            if unit in SIZE_UNITS and float(number) > 0:
                return int(float(number) * SIZE_UNITS[unit])
        except ValueError:
            pass
    raise GraderError(f"invalid size {value!r} in {where}")


def size_text(n: int) -> str:
    """``2 GiB``, ``64 MiB``: a limit as the reports say it."""
    return f"{n / 2**30:g} GiB" if n >= 2**30 else f"{n / 2**20:g} MiB"


def mib(n: int | float) -> str:
    """A measured amount in MiB with one decimal."""
    return f"{n / 2**20:.1f} MiB"
