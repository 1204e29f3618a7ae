"""One live worker as the trusted side holds it: requests with fresh ids, replies decoded and checked.

Every request carries an id drawn here, after the previous reply, which the worker echoes: a frame
written ahead of time, or by a process the submission left behind, cannot pass for a reply. A
worker that crashes, exits, hangs, runs out of memory or breaks the protocol is killed with every
process it started, and the call in flight becomes a :class:`WorkerFailure` with a plain reason.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import WorkerFailure
from grader.messages import Message
from grader.sandbox import codec
from grader.sandbox.protocol import EXIT_MEMORY, MAX_EVENTS, Limits, clean_error
from grader.sandbox.zygote import Zygote
from grader.units import size_text


@dataclass
class WorkerHandle:
    """One live worker: a pid, its socket, and how to kill everything it started."""

    zygote: Zygote
    pid: int
    sock: socket.socket
    uid: int | None
    cgroup: str | None
    limits: Limits
    layers: list[str] = field(default_factory=list)
    dead: str | None = None  # why it is dead: a Message, so that every later failure keeps the key
    hello: dict | None = None  # what the worker reported before importing the submission (None: not yet read)
    scratch: str | None = None  # the worker's private scratch when it has no mount namespace
    vocabularies: dict = field(default_factory=dict)  # exercise -> the names a violation of its policy can carry
    exercise: str | None = None  # the exercise that requests are sent for (see ``switch``)
    loaded: dict = field(default_factory=dict)  # exercise -> None, or the cleaned error its import gave
    tainted: dict = field(default_factory=dict)  # exercise -> a forbidden operation at its import
    tampered: dict | None = None  # the grader or its guard was altered: every later call fails
    _closed: bool = False

    @property
    def vocabulary(self) -> frozenset:
        return self.vocabularies.get(self.exercise, frozenset())

    def switch(self, exercise: str, timeout: float) -> bool:
        """Serve ``exercise`` from now on, importing it the first time; whether the worker is as it started.

        A worker whose earlier exercises left the process changed (torch functions rebound, defaults
        or threads changed) says so, and the caller serves ``exercise`` from a fresh worker instead.
        The import's outcome is in ``loaded[exercise]``: None, or the error to report.
        """
        if exercise not in self.vocabularies:
            raise WorkerFailure("protocol", Message("worker.not_served", {"exercise": exercise}))
        self.exercise = exercise
        reply = self.request({"op": "load"}, timeout=timeout)
        value = reply.get("value") if reply["ok"] else None
        if not isinstance(value, dict):
            self.loaded[exercise] = reply.get("error") or clean_error({}, self.vocabulary)
            return True
        if exercise not in self.loaded:
            error = None if value.get("loaded") is True else clean_error(value.get("error") or {}, self.vocabulary)
            self.loaded[exercise] = error
        return value.get("clean") is True

    def request(self, message: dict, timeout: float) -> dict:
        """Send one request for the current exercise and decode its reply; raise WorkerFailure if the
        worker cannot answer.

        A violation notice the worker sent during the request turns the reply into a failure,
        whatever the reply says.
        """
        if self.dead:
            raise WorkerFailure("exit", self.dead)
        request_id = secrets.token_hex(12)
        try:
            codec.send(self.sock, codec.encode({"exercise": self.exercise, **message, "id": request_id}))
        except OSError:
            pass  # a dead worker is diagnosed by the receive below
        reply, violation = self.receive(timeout, request_id)
        if violation is not None:
            reply = {"ok": False, "error": {"kind": "forbidden", "type": "ForbiddenOperation",
                                            "message": f"used a forbidden operation: {violation}"}}
            if message.get("op") == "load" and self.exercise not in self.loaded:
                self.tainted[self.exercise] = reply["error"]
                reply = {"ok": True, "value": {"loaded": False, "clean": False, "error": reply["error"]}}
        elif self.tampered is not None:
            reply = {"ok": False, "error": dict(self.tampered)}
        elif self.exercise in self.tainted and message.get("op") != "load":
            reply = {"ok": False, "error": dict(self.tainted[self.exercise])}
        if not reply["ok"]:
            reply["error"] = clean_error(reply.get("error"), self.vocabulary)
            if reply["error"]["kind"] == "memory":
                self._fail("memory", self._memory_message())
            if reply["error"]["kind"] == "tamper":
                self.tampered = reply["error"]  # restoring the grader afterwards does not undo this
        return reply

    def receive(self, timeout: float, request_id: str) -> tuple[dict, str | None]:
        """The reply to ``request_id`` within ``timeout`` seconds, and the first violation notice."""
        if self.dead:
            raise WorkerFailure("exit", self.dead)
        deadline = time.monotonic() + max(timeout, 0.01)
        violation = None
        for _ in range(MAX_EVENTS + 1):
            try:
                frame = codec.recv(self.sock, limit=self.limits.reply_bytes + 64 * 2**10, deadline=deadline)
                reply = codec.decode(frame) if frame is not None else None
            except (socket.timeout, TimeoutError):
                self._fail("timeout", Message("worker.no_answer", {"seconds": timeout}))
            except codec.CodecError as exc:
                self._fail("protocol", Message("worker.malformed_reply_because", {"reason": str(exc)}))
            except OSError:
                reply = None
            if reply is None:
                reason = self._death_reason()
                self._fail("memory" if reason.key == "worker.memory_limit" else "exit", reason)
            if not isinstance(reply, dict) or reply.get("id") != request_id:
                self._fail("protocol", Message("worker.stray_frame"))
            if reply.get("event") == "violation":
                if violation is None:
                    what = reply.get("what")
                    violation = what if isinstance(what, str) and what in self.vocabulary else "an operation"
                continue
            if not isinstance(reply.get("ok"), bool):
                self._fail("protocol", Message("worker.malformed_reply"))
            reply.pop("id", None)
            return reply, violation
        self._fail("protocol", Message("worker.flooded"))

    def _fail(self, kind: str, reason: Message):
        self.kill()
        self.dead = reason
        raise WorkerFailure(kind, reason)

    def _memory_message(self) -> Message:
        return Message("worker.memory_limit", {"size": size_text(self.limits.memory_bytes)})

    def _death_reason(self) -> Message:
        try:
            code, cpu = self.zygote.exit_status(self.pid, wait=0.5)
        except (OSError, codec.CodecError):
            code, cpu = None, 0.0
        if self._oom() or code == EXIT_MEMORY:
            return self._memory_message()
        if code is None:
            return Message("worker.closed_channel")
        if code < 0 or code > 128:
            sig = -code if code < 0 else code - 128
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= self.limits.cpu_seconds - 0.05):
                return Message("worker.cpu_limit", {"seconds": self.limits.cpu_seconds})
            if sig == signal.SIGXFSZ:
                return Message("worker.file_limit", {"size": size_text(self.limits.file_bytes)})
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = str(sig)
            return Message("worker.killed", {"signal": name})
        return Message("worker.exited", {"status": code})

    def _oom(self) -> bool:
        if not self.cgroup:
            return False
        for name in ("memory.oom_control", "memory.events"):
            try:
                for line in Path(self.cgroup, name).read_text().splitlines():
                    if line.startswith("oom_kill ") and int(line.split()[1]) > 0:
                        return True
            except (OSError, ValueError, IndexError):
                continue
        return False

    def kill(self) -> None:
        """Kill the worker with every process it started: its uid's, its cgroup's, its orphans."""
        if self._closed:
            return
        self._closed = True
        pid_ns = "pid-ns" in self.layers
        try:
            self.zygote.kill(self.pid, None if pid_ns else self.uid, self.cgroup, pid_ns)
        except (OSError, codec.CodecError):
            for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
                try:
                    target()
                except (ProcessLookupError, PermissionError):
                    pass
        if self.cgroup:
            _empty_cgroup(self.cgroup)
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self) -> None:
        self.kill()
        if self.cgroup:
            for _ in range(200):
                try:
                    os.rmdir(self.cgroup)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.001)
        if self.scratch:
            remove_tree(self.scratch)


def _empty_cgroup(group: str, timeout: float = 2.0) -> None:
    """SIGKILL every process of the cgroup until it is empty."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pids = [int(p) for p in Path(group, "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.0005)


def remove_tree(path: str) -> None:
    if not os.path.lexists(path):
        return

    def unlock(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=unlock)
