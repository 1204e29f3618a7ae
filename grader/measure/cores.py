"""Cores of their own for timed checks: machine-wide locks, so that no two timed checks share a core.

A batch's trusted process claims a core for its life; a single ``grade`` claims one for each timed
check (``grader.measure.host.pinned``). The locks are ``flock``s on files in one folder of the
machine's temporary directory, so concurrent batches, of other users too, respect each other.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path

from grader.errors import GraderError

LOCK_DIR = Path(tempfile.gettempdir()) / "grade-cores"
CORE_WAIT_SECONDS = 300.0  # how long a trusted process waits for a free core before giving up


def claim_core(lock_dir: Path, wait_s: float = CORE_WAIT_SECONDS) -> tuple[int, int]:
    """Lock a free core of this process's affinity set, pin this process to it; (core, lock fd)."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(lock_dir, 0o1777)
    except OSError:
        pass
    deadline = time.monotonic() + wait_s
    cores = sorted(os.sched_getaffinity(0))
    while True:
        for core in cores:
            fd = os.open(lock_dir / f"cpu{core}.lock", os.O_CREAT | os.O_RDWR, 0o666)
            try:
                os.fchmod(fd, 0o666)  # other users' batches lock the same cores
            except OSError:
                pass
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            os.sched_setaffinity(0, {core})
            return core, fd
        if time.monotonic() > deadline:
            raise GraderError(f"no free core for timed checks after {wait_s:g} s: cores {cores} are held by "
                              f"other grading processes (locks in {lock_dir})")
        time.sleep(0.2)
