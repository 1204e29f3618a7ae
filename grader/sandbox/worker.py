"""The sandboxed side: a zygote that has imported torch, and the workers it forks.

Run as ``python -m grader.sandbox.worker FD [MODULE...]``: the process imports torch once, then serves requests from
the trusted process on the socket FD. Each spawn forks a worker that enters the sandbox
(``isolate``, ``grader.sandbox.confine``), says hello (its isolation layers) before any student code runs,
then answers requests until its socket closes: ``load`` imports the exercise, ``call`` runs one
function. Every reply echoes the request's id, which the worker cannot know before the request
arrives. Nothing here decides a score; the trusted side believes only values it decodes itself.
"""

from __future__ import annotations

import gc

if __name__ == "__main__":  # the zygote: no cyclic collection while it imports (see ``zygote``)
    gc.disable()

import _socket
import importlib
import math
import select
import os
import signal
import socket
import struct
import sys
import threading
import traceback
import types

import torch

from grader.sandbox import codec, confine, landlock, modes, policy, protocol, reaper, seccomp, syscalls
from grader.sandbox.guard import Guard
from grader.sandbox.policy import ForbiddenOperation, Policy
from grader.sandbox.protocol import EXIT_BROKEN, EXIT_MEMORY, HELLO

ENV_ALLOW = confine.ENV_ALLOW
EXTRA_OPS: dict = {}  # op name -> handler(worker, request) -> value; filled by timing and memory modules
# Callables (cfg) -> dict run in a fresh worker before the submission is imported (what they capture
# can be trusted); their dicts join the hello frame. Filled by the timing module.
PRELOAD_HOOKS: list = []
# Further grader modules whose functions the integrity check watches (grader.timing_worker adds itself).
WATCHED_MODULES: list = []
MEMORY_WORDS = ("can't allocate memory", "out of memory", "bad_alloc", "cannot allocate memory")


def isolate(cfg: dict, channel: socket.socket) -> list[str]:
    """Enter the sandbox described by ``cfg``; return the isolation layers that are active."""
    return confine.isolate(cfg, channel)


# Worker ----------------------------------------------------------------------------------------

class Worker:
    """Serves calls into the exercise modules of one submission, each under its own exercise's rules.

    ``cfg["exercises"]`` maps every exercise this worker may serve to its ``[forbidden]`` table; the
    guard takes all of them before any student code runs, and each request names its exercise.
    """

    def __init__(self, channel: socket.socket, cfg: dict):
        self.channel = channel
        self.cfg = cfg
        exercises = cfg.get("exercises") if isinstance(cfg.get("exercises"), dict) else {}
        self.guard = Guard({e: Policy.from_dict(f) for e, f in exercises.items()},
                           keep_kernels=bool(cfg.get("keep_kernels")))
        self.modules: dict[str, types.ModuleType] = {}
        self.import_errors: dict[str, dict] = {}
        self.exercise: str | None = None  # the exercise of the request in flight
        self.device = cfg.get("device", "cpu")
        # Bound now, before any student code runs: the id of the request in flight, the function that
        # reports a violation the moment it happens, and the check that the grader is unchanged.
        self._current: list = [None]
        self._send_lock = threading.Lock()
        self._reporter = _make_reporter(channel, self._current, self._send_lock)
        self._integrity = _Integrity(self)
        self.guard.on_violation = self._reporter
        self.guard.install()
        self._integrity.capture()
        self._paths_set = False
        self._clean_state = process_state()

    @property
    def module(self):
        return self.modules.get(self.exercise) if self.exercise else None

    # Talking to the trusted side ---------------------------------------------------------------

    def send(self, message: dict) -> None:
        frame = codec.encode(message)
        with self._send_lock:
            _socket.socket.sendall(self.channel, struct.pack("<Q", len(frame)) + frame)

    # Loading -----------------------------------------------------------------------------------

    def load(self, exercise: str) -> None:
        if not self._paths_set:
            sys.path[:0] = [os.getcwd()] + sorted(
                os.path.join(os.getcwd(), d) for d in os.listdir(".") if os.path.isdir(d))
            self._paths_set = True
        self.guard.violations.clear()
        error = None
        try:
            with self.guard:
                module = importlib.import_module(exercise)
        except BaseException as exc:  # noqa: BLE001 - a submission may raise anything, SystemExit included
            error = _describe(exc, "import", f"importing {exercise}/{exercise}.py failed")
        if error is None and self.guard.violations:
            error = _forbidden(self.guard)
        if error is None and not isinstance(module, types.ModuleType):
            error = {"kind": "import", "type": "ImportError",
                     "message": f"importing {exercise}/{exercise}.py did not give a module"}
        if error is None:
            self.modules[exercise] = module
        else:
            self.import_errors[exercise] = error

    # Serving -----------------------------------------------------------------------------------

    def serve(self) -> None:
        recv, decode, integrity = codec.recv, codec.decode, self._integrity  # fixed before student code
        current = self._current
        while True:
            frame = recv(self.channel)
            if frame is None:
                return
            try:
                request = decode(frame)
            except codec.CodecError as exc:
                request, reply = {}, {"ok": False, "error": {"kind": "codec", "type": "CodecError", "message": str(exc)}}
            else:
                reply = None
            if not isinstance(request, dict):
                request = {}
            request_id = request.get("id") if isinstance(request.get("id"), str) else None
            current[0] = request_id
            if reply is None:
                reply = self.handle(request)
            broken = integrity.check()
            if broken:
                reply = {"ok": False, "error": {"kind": "tamper", "type": "GuardTampered",
                                                "message": f"the submission altered the grader ({broken})"}}
            reply = dict(reply) if isinstance(reply, dict) else {"ok": False}
            reply["id"] = request_id
            try:
                self.send(reply)
            except codec.CodecError as exc:
                self.send({"ok": False, "id": request_id,
                           "error": {"kind": "codec", "type": "CodecError", "message": str(exc)}})
            except MemoryError:
                self.send({"ok": False, "id": request_id,
                           "error": {"kind": "memory", "type": "MemoryError", "message": "the result did not fit"}})
            current[0] = None

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "value": "pong"}
        exercise = request.get("exercise")
        if not isinstance(exercise, str) or exercise not in self.guard.rules:
            return {"ok": False, "error": {"kind": "protocol", "type": "ProtocolError",
                                           "message": "the request names no exercise of this worker"}}
        self.exercise = exercise
        self.guard.select(exercise)
        if op == "load":
            # Whether what earlier exercises ran left the process as it started: the trusted side
            # serves the next exercise from a fresh worker if not.
            clean = process_state() == self._clean_state
            if exercise not in self.modules and exercise not in self.import_errors:
                self.load(exercise)
            return {"ok": True, "value": {"loaded": exercise in self.modules, "clean": clean,
                                          "error": self.import_errors.get(exercise)}}
        if exercise in self.import_errors:
            return {"ok": False, "error": self.import_errors[exercise]}
        if exercise not in self.modules:
            return {"ok": False, "error": {"kind": "protocol", "type": "ProtocolError",
                                           "message": "the exercise was not loaded"}}
        if op == "call":
            return self.call(request)
        if op in EXTRA_OPS:
            self.guard.violations.clear()
            try:
                value = EXTRA_OPS[op](self, request)
            except BaseException as exc:  # noqa: BLE001
                return {"ok": False, "error": _describe(exc, "exception", "")}
            if self.guard.violations:
                return {"ok": False, "error": _forbidden(self.guard)}
            return {"ok": True, "value": value}
        return {"ok": False, "error": {"kind": "protocol", "type": "ProtocolError", "message": f"unknown op {op!r}"[:200]}}

    def function(self, name: str):
        module = self.module
        if module is None or not isinstance(name, str) or name.startswith("_") or not hasattr(module, name):
            return None
        fn = getattr(module, name)
        return fn if callable(fn) else None

    def call(self, request: dict) -> dict:
        name = request.get("func")
        try:
            fn = self.function(name)
        except BaseException as exc:  # noqa: BLE001 - a module __getattr__ may raise anything
            return {"ok": False, "error": _describe(exc, "exception", "")}
        if fn is None:
            return {"ok": False, "error": {"kind": "missing", "type": "AttributeError",
                                           "message": f"{self.exercise}.py defines no function {name!r}"[:300]}}
        args, kwargs = request.get("args", []), request.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            return {"ok": False, "error": {"kind": "protocol", "type": "ProtocolError", "message": "malformed call"}}
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
        except BaseException as exc:  # noqa: BLE001 - a value whose conversion raises
            return {"ok": False, "error": _describe(exc, "exception", "")}
        reply = {"ok": True, "value": value}
        if request.get("return_args"):
            reply["args"] = [_tensors_of(a) for a in args]
        return reply


# What an exercise could leave behind for the next one: the torch functions and classes it could
# rebind, the defaults it could change, the threads it could start.
STATE_SPACES = (torch, torch.Tensor, torch.nn.functional, torch.nn, torch.linalg, torch.special, torch.fft, math)
# What the grader's own worker-side code set for the process that later exercises would inherit
# (a memory check fixes glibc's mmap threshold, which turns off its sliding threshold for good and
# slows every later allocation of a few MiB): it counts as changed state like the rest.
RECONFIGURED: set[str] = set()


def process_state() -> tuple:
    """A fingerprint of the process-wide state one exercise's code could change for another's."""
    names = tuple(tuple((k, id(v)) for k, v in vars(space).items()
                        if callable(v) and not isinstance(v, types.ModuleType)
                        and (space is torch.Tensor or not k.startswith("_"))) for space in STATE_SPACES)
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:
        threads = threading.active_count()
    return (hash(names), torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_num_threads(),
            torch.are_deterministic_algorithms_enabled(), threads, tuple(sorted(RECONFIGURED)))


def _tensors_of(value, depth: int = 0):
    """What the trusted side compares to see that a call left its inputs as they were: the tensors,
    in their containers; a container holding no tensor as its length, any other leaf as None."""
    if isinstance(value, torch.Tensor):
        return value
    if depth < 32 and type(value) in (list, tuple, dict):
        items = value.values() if type(value) is dict else value
        if not any(isinstance(v, (torch.Tensor, list, tuple, dict)) for v in items):
            return len(value)
        if type(value) is dict:
            return {k: _tensors_of(v, depth + 1) for k, v in value.items()}
        return type(value)(_tensors_of(v, depth + 1) for v in value)
    return None


def _make_reporter(channel: socket.socket, current: list, lock: threading.Lock):
    """A function that sends a violation notice for the request in flight, bound to this channel.

    It sends every notice, whatever the id holds: a notice with a wrong id fails the call on the
    trusted side, which is what a submission that meddles with the id gets.
    """
    sendall, encode, pack = _socket.socket.sendall, codec.encode, struct.pack

    def report(what: str) -> None:
        frame = encode({"event": "violation", "what": str(what)[:200], "id": current[0]})
        with lock:
            sendall(channel, pack("<Q", len(frame)) + frame)

    return report


class _Integrity:
    """Whether the grader's code and the guard's state in this process are as they were at fork time.

    Functions of the worker-side sandbox modules (and their classes) are compared by
    identity and code object; the guard's fixed state (its record, reporter, modes, patches) is
    taken after the guard is installed and before the submission is imported.
    """

    FIXED = ("policies", "rules", "violations", "on_violation", "_deny_fn", "_patched", "_fmode", "_dmode",
             "_code", "keep_kernels")

    def __init__(self, worker: "Worker"):
        from grader.sandbox import guard as guard_module

        watched = []
        sandbox_modules = (codec, guard_module, modes, policy, confine, landlock, protocol, reaper, seccomp, syscalls)
        for module in (sys.modules[__name__], *sandbox_modules, *WATCHED_MODULES):
            for name, obj in list(vars(module).items()):
                # The module's own functions, and the grader functions it imported by name: rebinding
                # either in its namespace changes what the module calls.
                if isinstance(obj, types.FunctionType) and str(obj.__module__).startswith("grader."):
                    watched.append((module, name, obj, obj.__code__))
                elif isinstance(obj, type) and obj.__module__ == module.__name__:
                    for attr, fn in list(vars(obj).items()):
                        if isinstance(fn, types.FunctionType):
                            watched.append((obj, attr, fn, fn.__code__))
        self.functions = tuple(watched)
        self.worker = worker
        self.worker_state = (worker.channel, worker.guard, worker._reporter, worker._current)
        self.guard_state: tuple | None = None

    def capture(self) -> None:
        guard = self.worker.guard
        self.guard_state = (set(vars(guard)), tuple((k, getattr(guard, k)) for k in self.FIXED))

    def check(self) -> str:
        """What changed, or ""."""
        for owner, name, fn, code in self.functions:
            if owner.__dict__.get(name) is not fn or fn.__code__ is not code:
                return f"{getattr(owner, '__name__', '?')}.{name} was replaced"
        w = self.worker
        if any(a is not b for a, b in zip((w.channel, w.guard, w._reporter, w._current), self.worker_state)):
            return "the worker's state was replaced"
        if self.guard_state is not None:
            keys, fixed = self.guard_state
            guard = w.guard
            if type(guard) is not Guard or set(vars(guard)) != keys:
                return "the guard's attributes were changed"
            for name, value in fixed:
                if vars(guard).get(name) is not value:
                    return f"the guard's {name} was replaced"
            if w.exercise is not None and guard.current is not guard.rules.get(w.exercise):
                return "the guard's rules were switched to another exercise's"
        return ""


def _forbidden(guard: Guard) -> dict:
    seen = list(dict.fromkeys(guard.violations))
    return {"kind": "forbidden", "type": "ForbiddenOperation",
            "message": "used a forbidden operation: " + ", ".join(seen[:3])}


def _text(exc: BaseException) -> str:
    try:
        return str(exc)[:2000]
    except BaseException:  # noqa: BLE001 - an exception whose __str__ raises
        return "(its message could not be read)"


def _describe(exc: BaseException, kind: str, prefix: str) -> dict:
    name = type(exc).__name__ if isinstance(type(exc).__name__, str) else "Exception"
    text = _text(exc)
    if isinstance(exc, ForbiddenOperation):
        kind = "forbidden"
    elif isinstance(exc, NotImplementedError):
        kind = "not-implemented"
    elif isinstance(exc, MemoryError) or any(w in text for w in MEMORY_WORDS):
        kind = "memory"
    where = ""
    try:
        cwd = os.getcwd()
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.startswith(cwd):
                where = f"{os.path.relpath(frame.filename, cwd)}:{frame.lineno}"
                break
    except BaseException:  # noqa: BLE001 - a traceback the submission tampered with
        where = ""
    message = f"{name}: {text}"[:2000]
    return {"kind": kind, "type": name[:80], "message": (prefix + ": " if prefix else "") + message,
            "where": where[:200]}


# Zygote ----------------------------------------------------------------------------------------

def warm_up() -> None:
    """Pay once, in the zygote, for the imports torch makes on first use of modes and common ops."""
    torch.set_num_threads(1)
    guard = Guard.single(Policy(functions=("torch.special.expit",), aten=("special_expit",), autograd=True))
    guard.install()
    with guard:
        x = torch.zeros(4, 3)
        (x @ x.T).exp().softmax(-1).sum()
        torch.nn.functional.gelu(x)
        torch.nn.functional.layer_norm(x, (3,))
    guard.uninstall()


# Imported, when the trusted side asks for it (``--idle-imports``: it will grade submission after
# submission), by the zygote once it has started its first worker and is idle (no request within
# IDLE_S): torch.optim builds its first optimiser by importing torch._dynamo (about a second of CPU,
# and it rebinds torch.manual_seed), which every worker forked afterwards then has for free. One
# submission's workers are forked before it, so a single run would only spend that second beside them.
IDLE_IMPORTS = ("torch._dynamo",)
IDLE_S = 0.05
IDLE_FLAG = "--idle-imports"


def _spawn(control: socket.socket, cfg: dict, live: set) -> None:
    parent_end, child_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        code = EXIT_BROKEN
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
            worker = Worker(child_end, cfg)
            worker.send({"ok": True, "value": hello, "id": HELLO})
            worker.serve()
            code = 0
        except MemoryError:
            code = EXIT_MEMORY
        except BaseException:  # noqa: BLE001 - the trusted side sees the socket close
            code = EXIT_BROKEN
        finally:
            os._exit(code)
    live.add(pid)
    child_end.close()
    if cfg.get("cgroup"):
        confine.attach_cgroup(pid, cfg["cgroup"])  # while the worker builds its root
    socket.send_fds(control, [codec.encode({"pid": pid})], [parent_end.fileno()])
    parent_end.close()


def zygote(fd: int, extensions: list[str] = (), idle_imports: bool = False) -> None:
    """Serve spawn, status and kill requests on the control socket until it closes.

    ``extensions`` are modules imported before any fork: they register requests (``EXTRA_OPS``),
    preload hooks and watched modules, e.g. the worker's side of timing and memory checks. With
    ``idle_imports``, IDLE_IMPORTS follow once the first worker is started and no request waits.
    """
    control = socket.socket(fileno=fd)
    statuses: dict[int, int] = {}
    live: set[int] = set()  # workers forked and not yet reaped by a kill request
    reaper.become_subreaper()
    warm_up()
    for name in extensions:
        importlib.import_module(name)  # registers its requests before any fork
    # What is here now lives as long as the zygote: the collector stopped while torch was imported
    # (it set off full collections of everything made so far, a few hundred milliseconds before the
    # first worker) and never walks it, here or in the workers, whose pages stay shared with it.
    gc.freeze()
    gc.enable()
    idle: list[str] = []  # filled at the first spawn: nothing delays the first worker
    spawned = False
    while True:
        if idle and not select.select([control], [], [], IDLE_S)[0]:
            importlib.import_module(idle.pop(0))
            continue
        frame = codec.recv(control)
        if frame is None:
            return
        request = codec.decode(frame)
        reaper.reap(statuses, live)
        op = request["op"]
        if op == "spawn" and not spawned:
            spawned, idle = True, list(IDLE_IMPORTS if idle_imports else ())
        if op == "ping":
            codec.send(control, codec.encode({"pong": True}))
        elif op == "spawn":
            _spawn(control, request["config"], live)
        elif op == "status":
            code, cpu = reaper.exit_status(request["pid"], statuses, float(request.get("wait", 0.0)))
            codec.send(control, codec.encode({"pid": request["pid"], "code": code, "cpu": cpu}))
        elif op == "kill":
            code = reaper.kill_worker(request["pid"], request.get("uid"), statuses, live,
                                       cgroup=request.get("cgroup"), pid_ns=bool(request.get("pid_ns")))
            codec.send(control, codec.encode({"pid": request["pid"], "code": code}))


if __name__ == "__main__":
    # Run the imported module's zygote, not __main__'s: EXTRA_OPS and PRELOAD_HOOKS are filled in the
    # module that the extensions import, and a second copy would stay empty.
    from grader.sandbox import worker as _module

    _args = sys.argv[2:]
    _module.zygote(int(sys.argv[1]), [a for a in _args if a != IDLE_FLAG], idle_imports=IDLE_FLAG in _args)
