"""The trusted side's handle of the zygote: the process that imported torch once and forks workers.

The zygote runs ``python -m grader.sandbox.worker FD [MODULE...]`` with a scrubbed environment; this
class sends it spawn, status and kill requests (``grader.sandbox.protocol``) over a socket pair.
"""

from __future__ import annotations

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

    def __init__(self, extensions: tuple[str, ...] = ()) -> None:
        self.extensions = tuple(extensions)
        self._control, child = socket.socketpair()
        env = scrub_env(dict(os.environ))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        pkg_root = str(PACKAGE.parent)
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = pkg_root + os.pathsep + os.environ["PYTHONPATH"]
        else:
            env["PYTHONPATH"] = pkg_root
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.worker", str(child.fileno()), *self.extensions], pass_fds=[child.fileno()],
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
            # The zygote holds nothing worth a clean exit, and tearing torch down takes it a few
            # hundred milliseconds: a moment to leave on its own, then it is killed.
            try:
                self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
