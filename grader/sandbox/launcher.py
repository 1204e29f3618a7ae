"""The trusted side of the sandbox: limits, what a worker may see, and the workers' start.

The trusted process never imports a submission. :class:`Sandbox` starts one zygote
(``grader.sandbox.zygote``), which imports torch once; each (submission, exercise) pair gets a worker
forked from it in milliseconds, handed back as a :class:`~grader.sandbox.handle.WorkerHandle`.
"""

from __future__ import annotations

import ctypes
import importlib.util
import itertools
import os
import queue
import threading
import site
import sys
import sysconfig
import tempfile
from pathlib import Path

from grader.sandbox import codec
from grader.errors import WorkerFailure
from grader.messages import Message, reason_of
from grader.sandbox.handle import WorkerHandle, remove_tree
from grader.sandbox.protocol import HELLO, Limits
from grader.sandbox.zygote import Zygote, scrub_env
from grader.sandbox.zygote import take as take_zygote

UID_BASE = 200_000
PACKAGE = Path(__file__).resolve().parents[1]  # the grader package, visible to workers
BASELINES = PACKAGE / "measure" / "baselines"  # reference-like code: hidden from correctness workers
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/alternatives",
               "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full")


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


_uids = itertools.count()


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
                 cgroups: bool = True, extensions: tuple[str, ...] = (), idle_imports: bool = False):
        self.limits = limits
        self.extensions = tuple(extensions)  # worker-side modules the zygote imports (timing, memory)
        self.idle_imports = idle_imports  # many submissions to come: the zygote pre-imports for later workers
        self.device = device
        self.namespaces = namespaces
        self.cgroups = cgroups
        self.visible = visible_paths(hidden)
        self.hidden = hidden_inside(hidden, self.visible)
        _undumpable()
        self.zygote = take_zygote(self.extensions, self.idle_imports)
        self._tmp = tempfile.mkdtemp(prefix="grade-")
        os.chmod(self._tmp, 0o711)
        self._root = os.path.join(self._tmp, "root")  # where each worker builds its own root
        os.mkdir(self._root, 0o755)
        self._vocabularies: dict[str, frozenset] = {}
        self._ready: Zygote | None = None  # the zygote that answered a ping
        self._closer: _Closer | None = None

    def wait_ready(self) -> None:
        """Block until the zygote is ready (it imports torch first): call before starting a clock."""
        if self._ready is self.zygote and self.zygote.alive:
            return  # it answered once: it is serving
        try:
            self.zygote.ping()
        except (OSError, codec.CodecError) as exc:
            raise WorkerFailure("exit", Message("sandbox.not_started", {"reason": str(exc)})) from None
        self._ready = self.zygote

    def start(self, scratch: Path, exercises: dict[str, dict], threads: int = 1,
              extra: dict | None = None, limits: Limits | None = None, baselines: bool = True) -> WorkerHandle:
        """Fork a worker whose working directory holds a copy of ``scratch``, to serve ``exercises``
        (``begin``, then ``ready``: the worker has built its sandbox and said hello)."""
        return self.ready(self.begin(scratch, exercises, threads=threads, extra=extra, limits=limits,
                                     baselines=baselines))

    def begin(self, scratch: Path, exercises: dict[str, dict], threads: int = 1,
              extra: dict | None = None, limits: Limits | None = None, baselines: bool = True) -> WorkerHandle:
        """Fork a worker whose working directory holds a copy of ``scratch``, to serve ``exercises``;
        return while it builds its sandbox (pass the handle to ``ready`` before sending it anything).

        ``exercises`` maps each exercise the worker may serve to its ``[forbidden]`` table: the
        worker's guard takes them all before any student code runs. Nothing of the submission is
        imported yet: ``WorkerHandle.switch`` imports an exercise when it is first served.
        ``extra`` joins the worker's config (e.g. ``timing``: the baselines to capture before import);
        ``limits`` replaces the sandbox's limits for this worker. ``baselines=False`` hides
        ``grader/measure/baselines/`` (reference-like code the timing checks run) from a worker that
        only answers correctness checks.
        """
        limits = limits or self.limits
        n = next(_uids)
        # A uid of its own per live worker: its processes can be counted, limited and swept.
        uid = UID_BASE + (os.getpid() % 4_000_000) * 512 + n % 512 if os.geteuid() == 0 else None
        cgroup = _make_cgroup(limits, f"grade-{os.getpid()}-{n}") if self.cgroups else None
        cuda = self.device.startswith("cuda")
        devices = list(DEVICES) + (["/dev"] if cuda else [])
        fallback_scratch = os.path.join(self._tmp, f"w{n}")
        cfg = {
            "exercises": {e: dict(f or {}) for e, f in exercises.items()}, "scratch": str(scratch),
            "device": self.device, "uid": uid, "cgroup": cgroup, "visible": self.visible, "devices": devices,
            "hidden": self.hidden + ([] if baselines else [str(BASELINES)]),
            "threads": threads, "namespaces": self.namespaces,
            "env": scrub_env(dict(os.environ)), "root": self._root, "fallback_scratch": fallback_scratch,
            "limits": {"processes": limits.processes, "file_bytes": limits.file_bytes,
                       "open_files": limits.open_files, "cpu_seconds": limits.cpu_seconds,
                       "memory_bytes": limits.memory_bytes, "scratch_bytes": limits.scratch_bytes,
                       "cuda": cuda},
            **(extra or {}),
        }
        if not self.zygote.alive:  # killed from outside: start a new one rather than fail every student
            self.zygote.close()
            self.zygote = Zygote(self.extensions, self.idle_imports)
        try:
            pid, sock = self.zygote.spawn(cfg)
        except (OSError, codec.CodecError) as exc:
            raise WorkerFailure("exit", Message("sandbox.worker_not_started", {"reason": str(exc)})) from None
        return WorkerHandle(self.zygote, pid, sock, uid, cgroup, limits, scratch=fallback_scratch,
                            vocabularies={e: self._vocabulary(f) for e, f in exercises.items()})

    def ready(self, handle: WorkerHandle) -> WorkerHandle:
        """Wait for the hello of a worker from ``begin``: its isolation layers and preload results."""
        if handle.hello is not None:
            return handle
        try:
            # The first frame comes before any student code: the isolation layers and preload results.
            hello, _ = handle.receive(timeout=min(handle.limits.call_seconds, 60.0), request_id=HELLO)
        except WorkerFailure as failure:
            handle.close()
            raise WorkerFailure(failure.kind, Message("worker.not_started", {"reason": reason_of(failure)})) from None
        value = hello.get("value")
        handle.layers = [str(x) for x in value.get("layers", [])] if isinstance(value, dict) else []
        handle.hello = dict(value) if isinstance(value, dict) else {}
        return handle

    def open(self, scratch: Path, exercise: str, forbidden: dict, timeout: float | None = None,
             **start) -> WorkerHandle:
        """A worker serving one exercise, already imported (``timeout`` bounds the import).

        An import that raised is reported by the handle's calls; one that hung, exited or ran out of
        memory raises WorkerFailure here.
        """
        handle = self.start(scratch, {exercise: forbidden}, **start)
        limits = start.get("limits") or self.limits
        try:
            handle.switch(exercise, timeout if timeout is not None else limits.call_seconds)
        except WorkerFailure as failure:
            handle.close()
            raise WorkerFailure(failure.kind, Message("worker.load_failed", {"reason": reason_of(failure)})) from None
        return handle

    def _vocabulary(self, forbidden: dict | None) -> frozenset:
        from grader.sandbox.policy import Policy

        key = repr(sorted((forbidden or {}).items()))
        if key not in self._vocabularies:
            self._vocabularies[key] = Policy.from_dict(forbidden).vocabulary()
        return self._vocabularies[key]

    def settle(self) -> None:
        """Wait until every retired worker is closed (nothing of theirs is left running)."""
        if self._closer is not None:
            self._closer.settle()

    def retire(self, handle: WorkerHandle) -> None:
        """Close ``handle`` in the background: killing and sweeping a worker need not hold up the next check."""
        if self._closer is None:
            self._closer = _Closer()
        self._closer.put(handle)

    def close(self) -> None:
        if self._closer is not None:
            self._closer.join()
            self._closer = None
        self.zygote.close()
        remove_tree(self._tmp)


class _Closer:
    """A thread that closes retired workers one after another."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="grade-worker-closer", daemon=True)
        self._thread.start()

    def put(self, handle: WorkerHandle) -> None:
        self._queue.put(handle)

    def _run(self) -> None:
        while True:
            handle = self._queue.get()
            try:
                if handle is None:
                    return
                handle.close()
            except Exception:  # noqa: BLE001 - a worker that cannot be closed is swept with its cgroup
                pass
            finally:
                self._queue.task_done()

    def settle(self) -> None:
        """Wait until every retired worker is closed."""
        self._queue.join()

    def join(self) -> None:
        self._queue.put(None)
        self._thread.join()
