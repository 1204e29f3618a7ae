"""The trusted side of the sandbox: a zygote process and handles to the workers it forks.

The trusted process never imports a submission. It starts one zygote (``grader.worker``), which
imports torch once; each (submission, exercise) pair gets a worker forked from it in milliseconds.
Every request carries an id drawn here, after the previous reply, which the worker echoes: a frame
written ahead of time, or by a process the submission left behind, cannot pass for a reply. A
worker that crashes, exits, hangs, runs out of memory or breaks the protocol is killed with every
process it started, and the call in flight becomes a :class:`WorkerFailure` with a plain reason.
"""

from __future__ import annotations

import ctypes
import importlib.util
import itertools
import os
import re
import secrets
import shutil
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

from grader.sandbox import codec
from grader.sandbox.confine import ENV_ALLOW, pids_of_uid

UID_BASE = 200_000
PACKAGE = Path(__file__).resolve().parents[1]  # the grader package, visible to workers
BASELINES = PACKAGE / "measure" / "baselines.py"
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/alternatives",
               "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full")
EXIT_MEMORY = 72  # grader.worker: the worker's own loop ran out of memory
ERROR_KINDS = ("exception", "not-implemented", "import", "forbidden", "type", "missing", "tamper", "memory",
               "codec", "protocol")
MAX_EVENTS = 64  # violation notices one request may bring before the worker counts as flooding
_pids_of_uid = pids_of_uid  # the timing session counts a worker's processes with it


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker; every field can be set in ``[tool.grade.limits]`` or by a flag."""

    call_seconds: float = 60.0  # wall clock for one call (and for importing the submission)
    submission_seconds: float = 900.0  # wall clock for a whole submission
    cpu_seconds: int = 900  # CPU time of each worker process
    memory_bytes: int = 2 * 2**30  # resident memory of a worker and everything it starts
    processes: int = 32  # processes and threads of a worker
    file_bytes: int = 64 * 2**20  # the largest file a worker may write
    open_files: int = 256
    scratch_bytes: int = 256 * 2**20  # the worker's writable scratch (counts against memory too)
    reply_bytes: int = 512 * 2**20  # the largest reply the trusted side accepts


class WorkerFailure(Exception):
    """The worker could not answer: it died, exited, hung, ran out of memory or broke the protocol."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind  # "timeout" | "memory" | "exit" | "protocol"


def visible_paths(hidden: list[Path]) -> list[str]:
    """Directories the worker may read: system libraries, Python, its packages and the grader package.

    A directory that contains a hidden path (the course, the submission's source, the output folder)
    is never exposed whole; the grader package itself is exposed alone. Hidden paths that still lie
    inside a visible directory are covered inside the sandbox (see ``hidden_inside``).
    """
    hidden_resolved = [Path(h).resolve() for h in hidden]
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sysconfig.get_paths()["stdlib"],
                  sysconfig.get_paths()["platstdlib"], sysconfig.get_paths()["purelib"],
                  sysconfig.get_paths()["platlib"]]
    candidates += site.getsitepackages() + [site.getusersitepackages()]
    spec = importlib.util.find_spec("torch")  # where torch lives, without paying for its import
    if spec is not None and spec.origin:
        candidates += [os.path.dirname(os.path.dirname(spec.origin))]
    out: list[str] = []
    for p in candidates:
        rp = Path(p).resolve()
        if any(rp == h or h.is_relative_to(rp) for h in hidden_resolved):
            continue
        if str(rp) not in out:
            out.append(str(rp))
    out.append(str(PACKAGE))
    for d in SYSTEM_DIRS:
        if os.path.lexists(d) and not os.path.islink(d):
            out.append(d)
    # Keep the list minimal: drop paths inside another listed path.
    out = sorted(set(out), key=len)
    minimal: list[str] = []
    for p in out:
        if not any(p == q or p.startswith(q.rstrip("/") + "/") for q in minimal):
            minimal.append(p)
    return minimal


def hidden_inside(hidden: list[Path], visible: list[str]) -> list[str]:
    """Hidden paths that a visible directory would show: the worker covers them with empty ones."""
    out = []
    for h in hidden:
        rh = str(Path(h).resolve())
        if any(rh != v and rh.startswith(v.rstrip("/") + "/") for v in visible):
            out.append(rh)
    return out


def scrub_env(env: dict) -> dict:
    """The environment a worker may see: an allow-list, filtered before it leaves this process."""
    return {k: v for k, v in env.items() if k in ENV_ALLOW}


class Zygote:
    """A process that has imported torch and forks workers on request."""

    def __init__(self) -> None:
        self._control, child = socket.socketpair()
        env = scrub_env(dict(os.environ))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        pkg_root = str(PACKAGE.parent)
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = pkg_root + os.pathsep + os.environ["PYTHONPATH"]
        else:
            env["PYTHONPATH"] = pkg_root
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.worker", str(child.fileno())], pass_fds=[child.fileno()],
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
    scratch: str | None = None  # the worker's private scratch when it has no mount namespace
    vocabulary: frozenset = frozenset()  # the names a violation of this exercise's policy can carry
    tainted: dict | None = None  # a forbidden operation at import, or tampering: every later call fails
    _closed: bool = False

    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and decode its reply; raise WorkerFailure if the worker cannot answer.

        A violation notice the worker sent during the request turns the reply into a failure,
        whatever the reply says.
        """
        if self.dead:
            raise WorkerFailure("exit", self.dead)
        request_id = secrets.token_hex(12)
        try:
            codec.send(self.sock, codec.encode({**message, "id": request_id}))
        except OSError:
            pass  # a dead worker is diagnosed by the receive below
        reply, violation = self.receive(timeout, request_id)
        if violation is not None:
            reply = {"ok": False, "error": {"kind": "forbidden", "type": "ForbiddenOperation",
                                            "message": f"used a forbidden operation: {violation}"}}
            if message.get("op") == "load":
                self.tainted = reply["error"]
        elif self.tainted is not None:
            reply = {"ok": False, "error": dict(self.tainted)}
        if not reply["ok"]:
            reply["error"] = _clean_error(reply.get("error"), self.vocabulary)
            if reply["error"]["kind"] == "memory":
                self._fail("memory", self._memory_message())
            if reply["error"]["kind"] == "tamper":
                self.tainted = reply["error"]  # restoring the grader afterwards does not undo this
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
                self._fail("timeout", f"no answer within {timeout:g} s (the worker was stopped)")
            except codec.CodecError as exc:
                self._fail("protocol", f"the worker sent a malformed reply ({exc})")
            except OSError:
                reply = None
            if reply is None:
                reason = self._death_reason()
                self._fail("memory" if "memory limit" in reason else "exit", reason)
            if not isinstance(reply, dict) or reply.get("id") != request_id:
                self._fail("protocol", "the worker sent a frame that answers no request in flight "
                                       "(written ahead of time or by another process; the worker was stopped)")
            if reply.get("event") == "violation":
                if violation is None:
                    what = reply.get("what")
                    violation = what if isinstance(what, str) and what in self.vocabulary else "an operation"
                continue
            if not isinstance(reply.get("ok"), bool):
                self._fail("protocol", "the worker sent a malformed reply")
            reply.pop("id", None)
            return reply, violation
        self._fail("protocol", "the worker flooded its channel with notices")

    def _fail(self, kind: str, reason: str):
        self.kill()
        self.dead = reason
        raise WorkerFailure(kind, reason)

    def _memory_message(self) -> str:
        return f"memory limit exceeded ({_size(self.limits.memory_bytes)})"

    def _death_reason(self) -> str:
        try:
            code, cpu = self.zygote.exit_status(self.pid, wait=0.5)
        except (OSError, codec.CodecError):
            code, cpu = None, 0.0
        if self._oom() or code == EXIT_MEMORY:
            return self._memory_message()
        if code is None:
            return "the worker stopped answering (it closed its channel)"
        if code < 0 or code > 128:
            sig = -code if code < 0 else code - 128
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= self.limits.cpu_seconds - 0.05):
                return f"CPU time limit exceeded ({self.limits.cpu_seconds} s)"
            if sig == signal.SIGXFSZ:
                return f"file size limit exceeded ({_size(self.limits.file_bytes)})"
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = str(sig)
            return f"the worker was killed by signal {name}"
        return f"the worker process exited with status {code} (sys.exit or os._exit in the submission?)"

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
            _remove_tree(self.scratch)


def _size(n: int) -> str:
    return f"{n / 2**30:g} GiB" if n >= 2**30 else f"{n / 2**20:g} MiB"


def _clean_error(error: object, vocabulary: frozenset = frozenset()) -> dict:
    """The worker's description of a failure, reduced to known kinds and bounded plain text.

    Hidden checks show the text of forbidden-operation and tampering failures: those texts are
    rebuilt here from the policy's own names, so that a submission cannot print through them.
    """
    error = error if isinstance(error, dict) else {}
    kind = error.get("kind") if error.get("kind") in ERROR_KINDS else "exception"
    kind_type = str(error.get("type", "Exception"))
    kind_type = re.sub(r"[^A-Za-z0-9_.]", "", kind_type)[:80] or "Exception"
    message = str(error.get("message", ""))[:2000]
    if kind == "forbidden":
        named = [n for n in sorted(vocabulary, key=len, reverse=True) if n in message][:1]
        message = "used a forbidden operation" + (f": {named[0]}" if named else "")
    elif kind == "tamper":
        message = "the submission altered the grader or its guard"
    return {"kind": kind, "type": kind_type, "message": message, "where": str(error.get("where", "") or "")[:200]}


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


def _remove_tree(path: str) -> None:
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


def _make_cgroup(limits: Limits, name: str) -> str | None:
    """A memory cgroup of its own for a worker (v1 or v2), when this process may create one."""
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return None
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in own:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(",") and Path("/sys/fs/cgroup/memory").is_dir():
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


def _undumpable() -> None:
    """Without root the workers share our uid: keep them out of this process's memory (/proc/PID/mem)."""
    if sys.platform.startswith("linux") and os.geteuid() != 0:
        try:
            ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
        except (OSError, AttributeError):
            pass


class Sandbox:
    """Starts workers for (submission, exercise) pairs under the configured limits and isolation."""

    def __init__(self, limits: Limits, hidden: list[Path], device: str = "cpu", namespaces: bool = True,
                 cgroups: bool = True):
        self.limits = limits
        self.device = device
        self.namespaces = namespaces
        self.cgroups = cgroups
        self.visible = visible_paths(hidden)
        self.hidden = hidden_inside(hidden, self.visible)
        _undumpable()
        self.zygote = Zygote()
        self._tmp = tempfile.mkdtemp(prefix="grade-")
        os.chmod(self._tmp, 0o711)
        self._root = os.path.join(self._tmp, "root")  # where each worker builds its own root
        os.mkdir(self._root, 0o755)
        self._load_failures: dict[tuple[str, str], WorkerFailure] = {}

    def wait_ready(self) -> None:
        """Block until the zygote is ready (it imports torch first): call before starting a clock."""
        try:
            self.zygote.ping()
        except (OSError, codec.CodecError) as exc:
            raise WorkerFailure("exit", f"the sandbox could not start ({exc})") from None

    def start(self, scratch: Path, exercise: str, forbidden: dict, threads: int = 1,
              extra: dict | None = None, timeout: float | None = None,
              limits: Limits | None = None, baselines: bool = True) -> WorkerHandle:
        """Fork a worker whose working directory holds a copy of ``scratch`` and import ``exercise``.

        ``extra`` joins the worker's config (e.g. ``timing``: the baselines to capture before import);
        ``limits`` replaces the sandbox's limits for this worker; ``timeout`` bounds the import.
        ``baselines=False`` hides ``grader/baselines.py`` (reference-like code the timing checks run)
        from a worker that only answers correctness checks.
        A submission whose import hung, exited or ran out of memory once is not imported again:
        the same failure is raised at once.
        """
        limits = limits or self.limits
        key = (str(scratch), exercise)
        if key in self._load_failures:
            failure = self._load_failures[key]
            raise WorkerFailure(failure.kind, str(failure))
        n = next(_uids)
        # A uid of its own per live worker: its processes can be counted, limited and swept.
        uid = UID_BASE + (os.getpid() % 4_000_000) * 512 + n % 512 if os.geteuid() == 0 else None
        cgroup = _make_cgroup(limits, f"grade-{os.getpid()}-{n}") if self.cgroups else None
        cuda = self.device.startswith("cuda")
        devices = list(DEVICES) + (["/dev"] if cuda else [])
        fallback_scratch = os.path.join(self._tmp, f"w{n}")
        cfg = {
            "exercise": exercise, "scratch": str(scratch), "device": self.device, "uid": uid,
            "cgroup": cgroup, "visible": self.visible, "devices": devices,
            "hidden": self.hidden + ([] if baselines else [str(BASELINES)]),
            "threads": threads, "namespaces": self.namespaces, "forbidden": forbidden,
            "env": scrub_env(dict(os.environ)), "root": self._root, "fallback_scratch": fallback_scratch,
            "limits": {"processes": limits.processes, "file_bytes": limits.file_bytes,
                       "open_files": limits.open_files, "cpu_seconds": limits.cpu_seconds,
                       "memory_bytes": limits.memory_bytes, "scratch_bytes": limits.scratch_bytes,
                       "cuda": cuda},
            **(extra or {}),
        }
        if not self.zygote.alive:  # killed from outside: start a new one rather than fail every student
            self.zygote.close()
            self.zygote = Zygote()
        try:
            pid, sock = self.zygote.spawn(cfg)
        except (OSError, codec.CodecError) as exc:
            raise WorkerFailure("exit", f"the sandbox could not start a worker ({exc})") from None
        from grader.sandbox.guard import Policy  # imports torch: the trusted side has it by now

        handle = WorkerHandle(self.zygote, pid, sock, uid, cgroup, limits, scratch=fallback_scratch,
                              vocabulary=Policy.from_dict(forbidden).vocabulary())
        load_timeout = timeout if timeout is not None else limits.call_seconds
        try:
            # The first frame comes before any student code: the isolation layers and preload results.
            hello, _ = handle.receive(timeout=min(limits.call_seconds, 60.0), request_id="hello")
            value = hello.get("value")
            handle.layers = [str(x) for x in value.get("layers", [])] if isinstance(value, dict) else []
            handle.hello = dict(value) if isinstance(value, dict) else {}
            handle.request({"op": "load"}, timeout=load_timeout)
        except WorkerFailure as failure:
            handle.close()
            failure = WorkerFailure(failure.kind, f"loading the submission failed: {failure}")
            if failure.kind in ("timeout", "memory", "exit"):
                self._load_failures[key] = failure
            raise failure from None
        return handle

    def close(self) -> None:
        self.zygote.close()
        self._load_failures.clear()
        _remove_tree(self._tmp)
