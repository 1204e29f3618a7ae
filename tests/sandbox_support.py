"""Helpers for the sandbox and red-team tests: graders with tight or fallback limits, what a course
looks like on disk, and which processes a submission left behind."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from pathlib import Path

from conftest import ROOT, make_settings
from grader.grading.runner import Grader
from grader.sandbox.launcher import UID_BASE

HOSTILE = ROOT / "tests" / "hostile"
MARKER = "hostile-linger"  # the process name hostile submissions give what they leave behind
# Tight enough that hangs and bombs cost seconds, loose enough for an honest sigmoid under load.
TIGHT = {"call_seconds": 2.0, "submission_seconds": 6.0, "memory_bytes": "384MiB", "cpu_seconds": 30}


def tight_grader(course, namespaces: bool = True, cgroups: bool = True) -> Grader:
    """A grader for every exercise with TIGHT limits; warmed up (its zygote has imported torch)."""
    settings = make_settings(course, limit_overrides=dict(TIGHT))
    if not namespaces:
        settings = dataclasses.replace(settings, namespaces=False)
    grader = Grader(course, settings)
    grader.sandbox.cgroups = cgroups
    grader.sandbox.wait_ready()
    return grader


# What hostile submissions write into any file they manage to open: a changed course file that
# holds one of these was changed by a worker. Other changes (in a checkout shared with people
# editing the course while the tests run) are not the submission's doing.
MARKERS = (b"# rewritten by a submission", b"# lingering\n")


def course_snapshot() -> dict[str, str]:
    """A digest of every file under exercises/, solutions/ and grader/ (caches left out)."""
    out = {}
    for top in ("exercises", "solutions", "grader"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and ".pytest_cache" not in path.parts:
                try:
                    out[str(path.relative_to(ROOT))] = hashlib.sha256(path.read_bytes()).hexdigest()
                except OSError:
                    pass
    return out


def tampered(before: dict[str, str]) -> list[str]:
    """Course files changed or added since ``before`` by a worker: holding a marker, or owned by one."""
    after, uids, out = course_snapshot(), _uid_range(), []
    for rel, digest in after.items():
        if before.get(rel) == digest:
            continue
        path = ROOT / rel
        try:
            owner = path.stat().st_uid
            data = path.read_bytes()
        except OSError:
            continue
        if (os.geteuid() == 0 and owner in uids) or any(m in data for m in MARKERS):
            out.append(rel)
    out += [rel for rel in before if rel not in after and rel.startswith("grader/")]  # removed
    return out


def _uid_range() -> range:
    base = UID_BASE + (os.getpid() % 4_000_000) * 512
    return range(base, base + 512)


def leftovers() -> list[str]:
    """Processes of this test process's workers still alive (their uids), or named MARKER."""
    uids, found = _uid_range(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            uid = os.stat(f"/proc/{entry}").st_uid
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if (os.geteuid() == 0 and uid in uids) or comm == MARKER:
            found.append(f"pid {entry} uid {uid} {comm}")
    return found


def zygote_children(grader: Grader) -> list[int]:
    """Children of the grader's zygote: none once every worker is closed."""
    zygote = grader.sandbox.zygote.process.pid
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == zygote:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def copy_hostile(name: str, dest: Path) -> Path:
    """A copy of tests/hostile/<name> to grade (a submission may write into its own folder)."""
    target = dest / name
    shutil.copytree(HOSTILE / name, target)
    return target


def score(grader: Grader, submission: Path, exercise: str = "sigmoid"):
    return grader.grade(submission, name=submission.name, only=[exercise]).exercise(exercise)
