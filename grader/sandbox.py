"""The trusted side of the sandbox: a zygote process and handles to the workers it forks.

The trusted process never imports a submission. It starts one zygote (``grader.worker``), which
imports torch once; each (submission, exercise) pair gets a worker forked from it in milliseconds.
A worker that crashes, exits, hangs or runs out of memory is killed with every process it started,
and the call that was in flight becomes a :class:`WorkerFailure` with a plain reason.
"""

from __future__ import annotations

import itertools
import os
import signal
import site
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader import codec

UID_BASE = 200_000
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/alternatives",
               "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full")
MEMORY_CGROUP_ROOTS = ("/sys/fs/cgroup/memory", "/sys/fs/cgroup")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker; every field can be set in ``[tool.grade]`` or by a flag."""

    call_seconds: float = 60.0
    submission_seconds: float = 900.0
    cpu_seconds: int = 900
    memory_bytes: int = 2 * 2**30
    processes: int = 32
    file_bytes: int = 64 * 2**20
    open_files: int = 256
    scratch_bytes: int = 256 * 2**20


class WorkerFailure(Exception):
    """The worker could not answer: it died, exited, hung, ran out of memory or broke the protocol."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind  # "timeout" | "memory" | "exit" | "protocol"


def _exists(path: str) -> bool:
    return os.path.lexists(path)


def visible_paths(hidden: list[Path]) -> list[str]:
    """Directories the worker may read: system libraries, Python, its packages and the grader package.

    A directory that contains a hidden path (the course, the submission's source, the output folder)
    is never exposed whole; the grader package itself is exposed alone.
    """
    hidden_resolved = [Path(h).resolve() for h in hidden]
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sysconfig.get_paths()["stdlib"],
                  sysconfig.get_paths()["platstdlib"], sysconfig.get_paths()["purelib"],
                  sysconfig.get_paths()["platlib"]]
    candidates += site.getsitepackages() + [site.getusersitepackages()]
    import torch  # noqa: F401 - its location is needed; the trusted side has it imported already
    candidates += [os.path.dirname(os.path.dirname(sys.modules["torch"].__file__))]
    out: list[str] = []
    for p in candidates:
        rp = Path(p).resolve()
        if any(rp == h or h.is_relative_to(rp) for h in hidden_resolved):
            continue
        if str(rp) not in out:
            out.append(str(rp))
    out.append(str(Path(__file__).resolve().parent))
    for d in SYSTEM_DIRS:
        if _exists(d) and not os.path.islink(d):
            out.append(d)
    # Keep the list minimal: drop paths inside another listed path.
    out = sorted(set(out), key=len)
    minimal: list[str] = []
    for p in out:
        if not any(p == q or p.startswith(q.rstrip("/") + "/") for q in minimal):
            minimal.append(p)
    return minimal


class Zygote:
    """A process that has imported torch and forks workers on request."""

    def __init__(self) -> None:
        self._control, child = socket.socketpair()
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH",
                                                             "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH")}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        pkg_root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.worker", str(child.fileno())], pass_fds=[child.fileno()],
            env=env, stdin=subprocess.DEVNULL, cwd="/", start_new_session=True)
        child.close()
        self._lock = threading.Lock()

    def spawn(self, cfg: dict) -> tuple[int, socket.socket]:
        with self._lock:
            codec.send(self._control, codec.encode({"op": "spawn", "config": cfg}))
            msg, fds, _, _ = socket.recv_fds(self._control, 1 << 16, 1)
            if not fds:
                raise WorkerFailure("protocol", "the sandbox could not start a worker")
            reply = codec.decode(msg)
            return reply["pid"], socket.socket(fileno=fds[0])

    def exit_code(self, pid: int) -> int | None:
        with self._lock:
            codec.send(self._control, codec.encode({"op": "status", "pid": pid}))
            frame = codec.recv(self._control)
            return codec.decode(frame)["code"] if frame else None

    def close(self) -> None:
        try:
            self._control.close()
        finally:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


_uids = itertools.count()


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
    dead: str | None = None
    hello: dict = field(default_factory=dict)  # what the worker reported before importing the submission

    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and decode the reply; raise WorkerFailure if the worker cannot answer."""
        if self.dead:
            raise WorkerFailure("exit", self.dead)
        try:
            codec.send(self.sock, codec.encode(message))
        except OSError:
            pass  # a dead worker is diagnosed by the receive below
        return self.receive(timeout)

    def receive(self, timeout: float) -> dict:
        """Decode the worker's next frame within ``timeout`` seconds."""
        if self.dead:
            raise WorkerFailure("exit", self.dead)
        try:
            self.sock.settimeout(max(timeout, 0.01))
            frame = codec.recv(self.sock)
            reply = codec.decode(frame) if frame is not None else None
        except (socket.timeout, TimeoutError):
            return self._fail("timeout", f"no answer within {timeout:g} s (the worker was stopped)")
        except codec.CodecError as exc:
            return self._fail("protocol", f"the worker sent a malformed reply ({exc})")
        except OSError:
            reply = None
        if reply is None:
            reason = self._death_reason()
            return self._fail("memory" if "memory limit" in reason else "exit", reason)
        if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
            return self._fail("protocol", "the worker sent a malformed reply")
        return reply

    def _fail(self, kind: str, reason: str):
        self.kill()
        self.dead = reason
        raise WorkerFailure(kind, reason)

    def _death_reason(self) -> str:
        code = None
        for _ in range(50):
            code = self.zygote.exit_code(self.pid)
            if code is not None:
                break
            time.sleep(0.01)
        if self._oom():
            return f"memory limit exceeded ({self.limits.memory_bytes / 2**30:g} GiB)"
        if code is None:
            return "the worker process ended unexpectedly"
        if code < 0 or code > 128:
            sig = -code if code < 0 else code - 128
            name = signal.Signals(sig).name if sig in signal.Signals.__members__.values() else str(sig)
            if sig == signal.SIGXCPU:
                return f"CPU time limit exceeded ({self.limits.cpu_seconds} s)"
            if sig == signal.SIGXFSZ:
                return f"file size limit exceeded ({self.limits.file_bytes // 2**20} MiB)"
            return f"the worker was killed by signal {name}"
        return f"the worker process exited with status {code} (sys.exit or os._exit in the submission?)"

    def _oom(self) -> bool:
        if not self.cgroup:
            return False
        for name, key in (("memory.oom_control", "oom_kill "), ("memory.events", "oom_kill ")):
            try:
                for line in Path(self.cgroup, name).read_text().splitlines():
                    if line.startswith(key) and int(line.split()[1]) > 0:
                        return True
            except (OSError, ValueError):
                continue
        return False

    def kill(self) -> None:
        """Kill the worker, its process group, every process of its uid and of its cgroup."""
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass
        for _ in range(3):
            pids = set(_pids_of_uid(self.uid)) if self.uid else set()
            if self.cgroup:
                try:
                    pids |= {int(p) for p in Path(self.cgroup, "cgroup.procs").read_text().split()}
                except (OSError, ValueError):
                    pass
            if not pids:
                break
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self) -> None:
        self.kill()
        if self.cgroup:
            for _ in range(100):
                try:
                    os.rmdir(self.cgroup)
                    break
                except OSError:
                    time.sleep(0.01)


def _pids_of_uid(uid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    out.append(int(entry))
            except OSError:
                pass
    return out


def _make_cgroup(limits: Limits, name: str) -> str | None:
    """A memory cgroup of its own for a worker, when this process may create one."""
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return None
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in own:
        _, controllers, path = line.split(":", 2)
        if controllers == "memory" and Path("/sys/fs/cgroup/memory").is_dir():
            base = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            limit_file = "memory.limit_in_bytes"
            break
        if controllers == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            base = Path("/sys/fs/cgroup") / path.lstrip("/")
            limit_file = "memory.max"
            break
    else:
        return None
    group = base / name
    try:
        group.mkdir(exist_ok=True)
        (group / limit_file).write_text(str(limits.memory_bytes))
        for swap in ("memory.memsw.limit_in_bytes", "memory.swap.max"):
            if (group / swap).exists():
                try:
                    (group / swap).write_text(str(limits.memory_bytes) if "memsw" in swap else "0")
                except OSError:
                    pass
    except OSError:
        try:
            group.rmdir()
        except OSError:
            pass
        return None
    return str(group)


class Sandbox:
    """Starts workers for (submission, exercise) pairs under the configured limits and isolation."""

    def __init__(self, limits: Limits, hidden: list[Path], device: str = "cpu", namespaces: bool = True):
        self.limits = limits
        self.device = device
        self.namespaces = namespaces
        self.visible = visible_paths(hidden)
        self.zygote = Zygote()
        self._tmp = tempfile.mkdtemp(prefix="grade-")
        os.chmod(self._tmp, 0o711)

    def start(self, scratch: Path, exercise: str, forbidden: dict, threads: int = 1,
              extra: dict | None = None) -> WorkerHandle:
        """Fork a worker whose working directory holds a copy of ``scratch`` and import ``exercise``.

        ``extra`` joins the worker's config (e.g. ``timing``: the baselines to capture before import).
        """
        n = next(_uids)
        # A uid of its own per live worker: its processes can be counted, limited and swept.
        uid = UID_BASE + (os.getpid() % 4_000_000) * 512 + n % 512 if os.geteuid() == 0 else None
        cgroup = _make_cgroup(self.limits, f"grade-{os.getpid()}-{n}")
        cuda = self.device.startswith("cuda")
        devices = list(DEVICES) + (["/dev"] if cuda else [])
        if not self.namespaces or os.geteuid() != 0:
            # Without a private mount namespace the worker reads its files where they are.
            os.chmod(scratch, 0o755)
        cfg = {
            "exercise": exercise, "scratch": str(scratch), "device": self.device, "uid": uid,
            "cgroup": cgroup, "visible": self.visible, "devices": devices, "threads": threads,
            "namespaces": self.namespaces, "forbidden": forbidden, "env": dict(os.environ),
            "limits": {"processes": self.limits.processes, "file_bytes": self.limits.file_bytes,
                       "open_files": self.limits.open_files, "cpu_seconds": self.limits.cpu_seconds,
                       "memory_bytes": self.limits.memory_bytes, "scratch_bytes": self.limits.scratch_bytes,
                       "cuda": cuda},
            **(extra or {}),
        }
        pid, sock = self.zygote.spawn(cfg)
        handle = WorkerHandle(self.zygote, pid, sock, uid, cgroup, self.limits)
        try:
            # The first frame a worker sends, once it has imported the exercise, names its isolation.
            hello = handle.receive(timeout=min(self.limits.call_seconds, 120))
        except WorkerFailure as failure:
            handle.close()
            raise WorkerFailure(failure.kind, f"loading the submission failed: {failure}") from None
        value = hello.get("value")
        handle.layers = [str(x) for x in value.get("layers", [])] if isinstance(value, dict) else []
        handle.hello = dict(value) if isinstance(value, dict) else {}
        return handle

    def close(self) -> None:
        self.zygote.close()
        try:
            os.rmdir(self._tmp)
        except OSError:
            pass
