"""The sandboxed side: a zygote that has imported torch, and the workers it forks.

Run as ``python -m grader.worker FD``: the process imports torch once, then serves spawn requests
from the trusted process on the socket FD. Each spawn forks a worker that enters the sandbox
(``isolate``), imports one exercise of one submission and answers call requests until its socket
closes. Nothing here decides a score; the trusted side believes only values it decodes itself.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import resource
import signal
import socket
import sys
import traceback

import torch

from grader import codec
from grader.guard import ForbiddenOperation, Guard, Policy

CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWIPC, CLONE_NEWUTS = (
    0x00020000, 0x40000000, 0x20000000, 0x08000000, 0x04000000)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 32, 4096, 0x4000, 1 << 18)
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
NEWROOT = "/tmp/.grade-sandbox-root"
ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
             "LD_LIBRARY_PATH", "CUDA_HOME")

_libc = ctypes.CDLL(None, use_errno=True)
EXTRA_OPS: dict = {}  # op name -> handler(worker, request) -> value; filled by timing and memory modules
# Callables (cfg) -> dict run in a fresh worker before the submission is imported (what they capture
# can be trusted); their dicts join the hello frame. Filled by the timing module.
PRELOAD_HOOKS: list = []
# Further grader modules whose functions the integrity check watches (grader.timing_worker adds itself).
WATCHED_MODULES: list = []


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src: str | None, dst: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(src.encode() if src else None, dst.encode(), fstype.encode() if fstype else None,
                       flags, data.encode() if data else None), f"mount {dst}")


# Sandbox entry ---------------------------------------------------------------------------------

def isolate(cfg: dict, channel: socket.socket) -> list[str]:
    """Enter the sandbox described by ``cfg``; return the isolation layers that are active.

    Called in the freshly forked worker, still privileged. On Linux as root: a cgroup, new mount,
    network, IPC, UTS and PID namespaces, a read-only root holding only what Python and torch need
    plus a tmpfs scratch with the submission's files, then an unprivileged uid of its own. Elsewhere
    as much of that as the OS allows; the trusted side puts the returned list in the report.
    """
    layers: list[str] = []
    os.setsid()
    scratch_src = cfg["scratch"]
    limits = cfg["limits"]
    if cfg.get("cgroup"):
        try:
            with open(os.path.join(cfg["cgroup"], "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            layers.append("cgroup")
        except OSError:
            pass
    workdir = scratch_src
    namespaces = cfg.get("namespaces", True) and os.geteuid() == 0 and sys.platform.startswith("linux")
    if namespaces:
        try:
            workdir = _enter_namespaces(cfg, channel)
            layers += ["mount-ns", "read-only-root", "network-ns", "pid-ns"]
        except OSError as exc:
            if cfg.get("require_namespaces"):
                raise
            layers.append(f"no-namespaces({exc.strerror or exc})")
            workdir = scratch_src
    _set_limits(limits, with_address_space="cgroup" not in layers)
    layers.append("rlimits")
    if os.geteuid() == 0 and cfg.get("uid"):
        uid = int(cfg["uid"])
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        layers.append(f"uid={uid}")
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update({k: v for k, v in cfg.get("env", {}).items() if k in ENV_ALLOW})
    os.environ.update({"HOME": workdir, "TMPDIR": workdir, "OMP_NUM_THREADS": str(cfg.get("threads", 1))})
    layers.append("scrubbed-env")
    return layers


def _enter_namespaces(cfg: dict, channel: socket.socket) -> str:
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = NEWROOT
    os.makedirs(root, exist_ok=True)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")
    for path in cfg["visible"]:
        if not os.path.exists(path):
            continue
        target = root + path
        if os.path.isdir(path):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
        _mount(path, target, None, MS_BIND | MS_REC)
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | MS_NOSUID)
    for link in ("/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        if os.path.islink(link) and not os.path.lexists(root + link):
            os.symlink(os.readlink(link), root + link)
    for dev in cfg.get("devices", ()):
        if os.path.exists(dev) and not os.path.exists(root + dev):
            os.makedirs(os.path.dirname(root + dev), exist_ok=True)
            if os.path.isdir(dev):
                os.makedirs(root + dev, exist_ok=True)
            else:
                open(root + dev, "a").close()
            _mount(dev, root + dev, None, MS_BIND | MS_REC)
    work = root + "/submission"
    os.makedirs(work, exist_ok=True)
    size = int(cfg["limits"].get("scratch_bytes", 256 * 2**20))
    _mount("tmpfs", work, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=700")
    _copy_tree(cfg["scratch"], work)
    if os.geteuid() == 0 and cfg.get("uid"):
        for dirpath, dirnames, filenames in os.walk(work):
            for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
                os.chown(name, int(cfg["uid"]), int(cfg["uid"]))
    os.makedirs(root + "/tmp", exist_ok=True)
    _mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    # PID namespace: the next child is its init; when it dies every process inside dies with it.
    pid = os.fork()
    if pid:
        channel.close()
        os.closerange(3, 65536)
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.makedirs(root + "/proc", exist_ok=True)
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV)
    os.chroot(root)
    return "/submission"


def _copy_tree(src: str, dst: str) -> None:
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        target = dst if rel == "." else os.path.join(dst, rel)
        os.makedirs(target, exist_ok=True)
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as fin, open(os.path.join(target, name), "wb") as fout:
                fout.write(fin.read())


def _set_limits(limits: dict, with_address_space: bool) -> None:
    def lim(kind: int, value: int | None) -> None:
        if value is None:
            return
        try:
            resource.setrlimit(kind, (value, value))
        except (ValueError, OSError):
            pass

    lim(resource.RLIMIT_CORE, 0)
    lim(resource.RLIMIT_NPROC, limits.get("processes"))
    lim(resource.RLIMIT_FSIZE, limits.get("file_bytes"))
    lim(resource.RLIMIT_NOFILE, limits.get("open_files"))
    lim(resource.RLIMIT_CPU, limits.get("cpu_seconds"))
    if with_address_space and limits.get("memory_bytes") and not limits.get("cuda"):
        # Without a cgroup, cap the address space at what torch already maps plus the budget.
        with open("/proc/self/statm") as f:
            mapped = int(f.read().split()[0]) * resource.getpagesize()
        lim(resource.RLIMIT_AS, mapped + int(limits["memory_bytes"]))


# Worker ----------------------------------------------------------------------------------------

class Worker:
    """Serves calls into one exercise module of one submission."""

    def __init__(self, channel: socket.socket, cfg: dict):
        self.channel = channel
        self.cfg = cfg
        self.guard = Guard(Policy.from_dict(cfg.get("forbidden")))
        self.module = None
        self.import_error: dict | None = None
        self.device = cfg.get("device", "cpu")

    def load(self) -> None:
        self.guard.install()
        exercise = self.cfg["exercise"]
        sys.path[:0] = [os.getcwd()] + sorted(
            os.path.join(os.getcwd(), d) for d in os.listdir(".") if os.path.isdir(d))
        try:
            with self.guard:
                self.module = importlib.import_module(exercise)
        except BaseException as exc:  # noqa: BLE001 - a submission may raise anything, SystemExit included
            self.import_error = _describe(exc, "import", f"importing {exercise}/{exercise}.py failed")
        if self.import_error is None and self.guard.violations:
            self.import_error = _forbidden(self.guard)

    def serve(self) -> None:
        while True:
            frame = codec.recv(self.channel)
            if frame is None:
                return
            try:
                request = codec.decode(frame)
            except codec.CodecError as exc:
                reply = {"ok": False, "error": {"kind": "codec", "type": "CodecError", "message": str(exc)}}
            else:
                reply = self.handle(request)
            try:
                out = codec.encode(reply)
            except codec.CodecError as exc:
                out = codec.encode({"ok": False, "error": {"kind": "codec", "type": "CodecError",
                                                           "message": str(exc)}})
            codec.send(self.channel, out)

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "value": "pong"}
        if self.import_error is not None:
            return {"ok": False, "error": self.import_error}
        if op == "call":
            return self.call(request)
        if op in EXTRA_OPS:
            try:
                return {"ok": True, "value": EXTRA_OPS[op](self, request)}
            except BaseException as exc:  # noqa: BLE001
                return {"ok": False, "error": _describe(exc, "exception", "")}
        return {"ok": False, "error": {"kind": "protocol", "type": "ProtocolError", "message": f"unknown op {op!r}"}}

    def function(self, name: str):
        if not isinstance(name, str) or name.startswith("_") or not hasattr(self.module, name):
            return None
        fn = getattr(self.module, name)
        return fn if callable(fn) else None

    def call(self, request: dict) -> dict:
        name = request.get("func")
        fn = self.function(name)
        if fn is None:
            return {"ok": False, "error": {"kind": "missing", "type": "AttributeError",
                                           "message": f"{self.cfg['exercise']}.py defines no function {name!r}"}}
        args, kwargs = request.get("args", []), request.get("kwargs", {})
        self.guard.violations.clear()
        try:
            with self.guard:
                value = fn(*args, **kwargs)
                if self.device.startswith("cuda"):
                    torch.cuda.synchronize()
        except BaseException as exc:  # noqa: BLE001
            if self.guard.violations:
                return {"ok": False, "error": _forbidden(self.guard)}
            return {"ok": False, "error": _describe(exc, "exception", "")}
        if self.guard.violations:
            return {"ok": False, "error": _forbidden(self.guard)}
        if not self.guard.intact():
            return {"ok": False, "error": {"kind": "tamper", "type": "GuardTampered",
                                           "message": "the submission removed or altered the grader's guard"}}
        try:
            codec.encode(value)
        except codec.CodecError as exc:
            return {"ok": False, "error": {"kind": "type", "type": "WrongType", "message": str(exc)}}
        reply = {"ok": True, "value": value}
        if request.get("return_args"):
            reply["args"] = list(args)
        return reply


def _forbidden(guard: Guard) -> dict:
    seen = list(dict.fromkeys(guard.violations))
    return {"kind": "forbidden", "type": "ForbiddenOperation",
            "message": "used a forbidden operation: " + ", ".join(seen[:3])}


def _describe(exc: BaseException, kind: str, prefix: str) -> dict:
    if isinstance(exc, ForbiddenOperation):
        kind = "forbidden"
    elif isinstance(exc, NotImplementedError):
        kind = "not-implemented"
    elif isinstance(exc, MemoryError) or "can't allocate memory" in str(exc) or "out of memory" in str(exc):
        kind = "memory"
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(os.getcwd()) or frame.filename.startswith("/submission"):
            where = f"{os.path.relpath(frame.filename, os.getcwd())}:{frame.lineno}"
            break
    message = f"{type(exc).__name__}: {exc}"[:2000]
    return {"kind": kind, "type": type(exc).__name__, "message": (prefix + ": " if prefix else "") + message,
            "where": where}


# Zygote ----------------------------------------------------------------------------------------

def warm_up() -> None:
    """Pay once, in the zygote, for the imports torch makes on first use of modes and common ops."""
    torch.set_num_threads(1)
    guard = Guard(Policy(functions=("torch.special.expit",), aten=("special_expit",), autograd=True))
    guard.install()
    with guard:
        x = torch.zeros(4, 3)
        (x @ x.T).exp().softmax(-1).sum()
        torch.nn.functional.gelu(x)
        torch.nn.functional.layer_norm(x, (3,))
    guard.uninstall()


def _reap(statuses: dict) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        statuses[pid] = status


def _spawn(control: socket.socket, cfg: dict, statuses: dict) -> None:
    parent_end, child_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            control.close()
            parent_end.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            fd = child_end.fileno()
            null = os.open(os.devnull, os.O_RDWR)
            for target in (0, 1, 2):
                os.dup2(null, target)
            os.closerange(3, fd)
            os.closerange(fd + 1, 65536)
            layers = isolate(cfg, child_end)
            torch.set_num_threads(int(cfg.get("threads", 1)))
            hello = {"layers": layers}
            for hook in PRELOAD_HOOKS:
                hello.update(hook(cfg) or {})
            codec.send(child_end, codec.encode({"ok": True, "value": hello}))
            worker = Worker(child_end, cfg)
            worker.load()
            worker.serve()
            code = 0
        except BaseException:  # noqa: BLE001 - the trusted side sees the socket close
            code = 71
        finally:
            os._exit(code)
    child_end.close()
    socket.send_fds(control, [codec.encode({"pid": pid})], [parent_end.fileno()])
    parent_end.close()


def zygote(fd: int) -> None:
    """Serve spawn and status requests on the control socket until it closes."""
    control = socket.socket(fileno=fd)
    statuses: dict[int, int] = {}
    warm_up()
    for name in ("grader.timing", "grader.memory"):
        try:
            importlib.import_module(name)  # registers EXTRA_OPS before any fork
        except ImportError:
            pass
    while True:
        frame = codec.recv(control)
        if frame is None:
            return
        request = codec.decode(frame)
        _reap(statuses)
        if request["op"] == "spawn":
            _spawn(control, request["config"], statuses)
        elif request["op"] == "status":
            pid = request["pid"]
            status = statuses.pop(pid, None)
            if status is None:
                try:
                    got, status = os.waitpid(pid, os.WNOHANG)
                    status = status if got else None
                except ChildProcessError:
                    status = None
            code = None if status is None else (
                os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status))
            codec.send(control, codec.encode({"pid": pid, "code": code}))


if __name__ == "__main__":
    # Run the imported module's zygote, not __main__'s: EXTRA_OPS and PRELOAD_HOOKS are filled in the
    # module that grader.timing and grader.memory import, and a second copy would stay empty.
    from grader import worker as _module

    _module.zygote(int(sys.argv[1]))
