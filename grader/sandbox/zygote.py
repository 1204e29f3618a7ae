"""The trusted side's handle of the zygote: the process that imported torch once and forks workers.

The zygote runs ``python -m grader.sandbox.worker FD [MODULE...] [--idle-imports]`` with a scrubbed environment; this
class sends it spawn, status and kill requests (``grader.sandbox.protocol``) over a socket pair.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from grader.sandbox import codec
from grader.sandbox.confine import ENV_ALLOW

PACKAGE = Path(__file__).resolve().parents[1]  # the grader package


def scrub_env(env: dict) -> dict:
    """The environment a worker may see: an allow-list, filtered before it leaves this process."""
    return {k: v for k, v in env.items() if k in ENV_ALLOW}


class Zygote:
    """A process that has imported torch and forks workers on request."""

    def __init__(self, extensions: tuple[str, ...] = (), idle_imports: bool = False) -> None:
        self.extensions = tuple(extensions)
        self.idle_imports = idle_imports  # import what later workers will want once idle (worker.IDLE_IMPORTS)
        self._control, child = socket.socketpair()
        env = scrub_env(dict(os.environ))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        pkg_root = str(PACKAGE.parent)
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = pkg_root + os.pathsep + os.environ["PYTHONPATH"]
        else:
            env["PYTHONPATH"] = pkg_root
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.worker", str(child.fileno()), *self.extensions,
             *(["--idle-imports"] if idle_imports else [])], pass_fds=[child.fileno()],
            env=env, stdin=subprocess.DEVNULL, cwd="/", start_new_session=True)
        child.close()
        self._lock = threading.Lock()

    def _ask(self, message: dict) -> dict:
        codec.send(self._control, codec.encode(message))
        frame = codec.recv(self._control)
        if frame is None:
            raise OSError("the zygote has exited")
        return codec.decode(frame)

    def spawn(self, cfg: dict) -> tuple[int, socket.socket]:
        with self._lock:
            codec.send(self._control, codec.encode({"op": "spawn", "config": cfg}))
            msg, fds, _, _ = socket.recv_fds(self._control, 1 << 16, 1)
            if not fds:
                raise OSError("the zygote could not start a worker")
            reply = codec.decode(msg)
            return reply["pid"], socket.socket(fileno=fds[0])

    def exit_status(self, pid: int, wait: float = 0.0) -> tuple[int | None, float]:
        """(exit code, CPU seconds) of a worker; the code is negative for the signal that killed it."""
        with self._lock:
            reply = self._ask({"op": "status", "pid": pid, "wait": wait})
            return reply["code"], float(reply.get("cpu") or 0.0)

    def exit_code(self, pid: int, wait: float = 0.0) -> int | None:
        return self.exit_status(pid, wait)[0]

    def kill(self, pid: int, uid: int | None, cgroup: str | None = None, pid_ns: bool = False) -> int | None:
        """Kill the worker and everything it left behind; reap it; its exit code."""
        with self._lock:
            return self._ask({"op": "kill", "pid": pid, "uid": uid, "cgroup": cgroup, "pid_ns": pid_ns})["code"]

    def ping(self) -> None:
        """Return once the zygote has imported torch and serves requests."""
        with self._lock:
            self._ask({"op": "ping"})

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        try:
            self._control.close()
        finally:
            # The zygote holds nothing worth a clean exit (its workers are killed through it before
            # this), and tearing torch down would take it a few hundred milliseconds: it is killed.
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()


# One zygote started ahead ------------------------------------------------------------------------
# A zygote takes about a second to import torch. The `grade` command starts one the moment it is
# invoked, before it parses its options and loads the course, so that it is ready by the time the
# trusted side has imported torch too; the first Sandbox takes it over (``take``).

_ahead: Zygote | None = None


def start_ahead(extensions: tuple[str, ...]) -> None:
    """Start a zygote now for the first Sandbox of this process; it is killed at exit if none takes it."""
    global _ahead
    if _ahead is None:
        _ahead = Zygote(extensions)
        atexit.register(_close_ahead)


def take(extensions: tuple[str, ...], idle_imports: bool = False) -> Zygote:
    """The zygote started ahead when it fits (same extensions, alive), else a new one."""
    global _ahead
    zygote, _ahead = _ahead, None
    if zygote is not None and zygote.alive and zygote.extensions == tuple(extensions) \
            and zygote.idle_imports == idle_imports:
        return zygote
    if zygote is not None:
        zygote.close()
    return Zygote(extensions, idle_imports)


def _close_ahead() -> None:
    global _ahead
    zygote, _ahead = _ahead, None
    if zygote is not None:
        zygote.close()
