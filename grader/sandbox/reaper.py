"""How the zygote ends a worker with everything it started, and collects the exit statuses.

``kill_worker`` kills the worker, every process of its uid or its cgroup, and any process it left
behind (the zygote is a child subreaper, so orphans come back to it), then reaps it.
"""

from __future__ import annotations

import os
import signal
import time

from grader.sandbox.syscalls import PR_SET_CHILD_SUBREAPER, prctl


def become_subreaper() -> None:
    """Orphans of the workers come back to this process instead of init, where they can be swept."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)


def reap(statuses: dict, live: set) -> None:
    """Collect exited children; keep the status (and CPU time) of workers, drop strays."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in live:
            statuses[pid] = (status, usage.ru_utime + usage.ru_stime)


def _code(status: int) -> int:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)


def exit_status(pid: int, statuses: dict, wait: float = 0.0) -> tuple[int | None, float]:
    """(exit code, CPU seconds) of a worker, waiting up to ``wait`` s; the code is None while it runs.

    A negative code is the signal that killed it. The CPU time counts the processes it reaped,
    so a worker that is the init of its PID namespace (which ignores SIGXCPU and dies of the
    SIGKILL at the hard limit) still shows that it used up its CPU time.
    """
    deadline = time.monotonic() + wait
    while True:
        if pid in statuses:
            status, cpu = statuses[pid]
            return _code(status), cpu
        try:
            got, status, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            return None, 0.0
        if got:
            statuses[pid] = (status, usage.ru_utime + usage.ru_stime)
            return exit_status(pid, statuses)
        if time.monotonic() >= deadline:
            return None, 0.0
        time.sleep(0.001)


def exit_code(pid: int, statuses: dict, wait: float = 0.0) -> int | None:
    """The exit code of a worker (negative: killed by that signal), waiting up to ``wait`` seconds."""
    return exit_status(pid, statuses, wait)[0]


def _cgroup_pids(group: str | None) -> list[int]:
    if not group:
        return []
    try:
        with open(os.path.join(group, "cgroup.procs")) as f:
            return [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return []


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_worker(pid: int, uid: int | None, statuses: dict, live: set, cgroup: str | None = None,
                pid_ns: bool = False) -> int | None:
    """Kill a worker and everything it started; reap it; return its exit code.

    With a PID namespace and a cgroup, everything but the waiter (the worker's outer process) is
    killed: the namespace's init takes its descendants with it, the waiter reaps it and exits, and
    nothing is orphaned. Otherwise the worker's process group, its uid's processes and its cgroup's
    are killed, and what it left behind (orphans come back to this subreaper) is swept.
    """
    inside = [p for p in _cgroup_pids(cgroup) if p != pid]
    if pid_ns and inside:
        for p in inside:
            _kill(p)
        code = exit_code(pid, statuses, wait=1.0)
        if code is None:
            _kill(pid)
            code = exit_code(pid, statuses, wait=5.0)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        _kill(pid)
        for p in inside:
            _kill(p)
        if uid:
            kill_uid(uid)
        code = exit_code(pid, statuses, wait=5.0)
    statuses.pop(pid, None)
    live.discard(pid)
    if pid_ns:
        reap(statuses, live)
    else:
        sweep_strays(live)
    return code


def pids_of_uid(uid: int) -> list[int]:
    """Every process of ``uid``, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    out.append(int(entry))
            except OSError:
                pass
    return out


def kill_uid(uid: int, timeout: float = 2.0) -> None:
    """SIGKILL every process of ``uid`` until none is left (each round kills what the last one forked)."""
    if not os.path.isdir("/proc"):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = pids_of_uid(uid)
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.001)


def _children() -> list[int]:
    me = os.getpid()
    try:
        out = []
        for task in os.listdir(f"/proc/{me}/task"):
            with open(f"/proc/{me}/task/{task}/children") as f:
                out += [int(p) for p in f.read().split()]
        return out
    except OSError:
        pass
    out = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def sweep_strays(live: set, timeout: float = 2.0) -> None:
    """Kill and reap children of the zygote that are not live workers: what dead workers left behind."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        strays = [p for p in _children() if p not in live]
        if not strays:
            return
        for p in strays:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for p in strays:
            try:
                os.waitpid(p, 0)
            except ChildProcessError:
                pass
