"""A timed check's host side: the worker's processes as /proc shows them, and the core it runs on."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import torch

from grader.errors import GraderError
from grader.measure.cores import LOCK_DIR, claim_core
from grader.sandbox.reaper import pids_of_uid
from grader.sandbox.handle import WorkerHandle


# The worker's processes, counted here --------------------------------------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def worker_pids(handle: WorkerHandle) -> list[int]:
    """Every process the worker runs: those of its own uid, or else its process tree."""
    if handle.uid is not None:
        return pids_of_uid(handle.uid)
    tree, out, todo = _children(), [], [handle.pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += tree.get(pid, [])
    return out


def worker_tasks(handle: WorkerHandle) -> tuple[int, int]:
    """(processes, threads) of the worker, read from /proc by this process."""
    pids, threads = worker_pids(handle), 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("Threads:"):
                    threads += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return len(pids), threads


@contextlib.contextmanager
def pinned(*handles: WorkerHandle):
    """Run this process and the workers on one core of their own while a check is timed; yield it.

    A process already pinned to one core (a batch's trusted process) keeps it; otherwise a core is
    claimed through the batch's machine-wide locks, so timed checks never share a core.
    """
    own = os.sched_getaffinity(0)
    core, lock = (next(iter(own)), None) if len(own) == 1 else (None, None)
    if core is None:
        try:
            core, lock = claim_core(LOCK_DIR, wait_s=10.0)
        except (GraderError, OSError):
            core = None
    saved: dict[int, set] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if core is not None:
            for pid in [p for h in handles for p in worker_pids(h)]:
                try:
                    saved[pid] = os.sched_getaffinity(pid)
                    os.sched_setaffinity(pid, {core})
                except OSError:
                    pass
        yield core
    finally:
        torch.set_num_threads(threads)
        for pid, cpus in saved.items():
            try:
                os.sched_setaffinity(pid, cpus)
            except OSError:
                pass
        if lock is not None:
            os.sched_setaffinity(0, own)
            os.close(lock)
