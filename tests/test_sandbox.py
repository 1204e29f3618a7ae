"""The sandbox itself, probed from inside a worker: limits and the messages they produce, what a
worker can see and reach, the protocol's defences, process cleanup, the isolation report, speed.

Each probe is a tiny submission whose ``sigmoid`` reports what it observed. The full sandbox (root:
cgroup, namespaces, read-only root, own uid, seccomp) is the session grader's; the fallback (no
namespaces, no cgroup: private scratch, Landlock, RLIMIT_AS, seccomp) has a grader of its own.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pytest
import torch

from conftest import ROOT, make_settings, requires_root
from grader.grading.runner import Grader
from grader.grading import config
from grader.sandbox import seccomp
from grader.errors import GraderError
from grader.sandbox.confine import ENV_ALLOW
from grader.errors import WorkerFailure
from grader.sandbox.protocol import Limits
from sandbox_support import HOSTILE, MARKER, leftovers, score, tight_grader, zygote_children

SECRET = "s3cr3t-value-5b8e1f0c9d7a"
SENSITIVE = ["solutions/sigmoid/sigmoid.py", "exercises/sigmoid/test_hidden.py", "exercises", "solutions",
             "pyproject.toml", "tests"]


@pytest.fixture(scope="module")
def fallback(course):
    """A grader whose workers get no namespaces and no cgroup, as where they cannot be applied."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        grader = tight_grader(course, namespaces=False, cgroups=False)
    yield grader
    grader.close()


@pytest.fixture(params=["full", "fallback"])
def owner(request, grader):
    """The grader whose sandbox a test probes: the full one (root only) and the fallback."""
    if request.param == "full":
        if os.geteuid() != 0:
            pytest.skip("the full sandbox needs root")
        return grader
    return request.getfixturevalue("fallback")


@pytest.fixture
def sandbox(owner):
    return owner.sandbox


def _probe(sandbox, tmp: Path, source: str, **start):
    folder = tmp / f"probe{len(list(tmp.iterdir()))}"
    (folder / "sigmoid").mkdir(parents=True)
    (folder / "sigmoid" / "sigmoid.py").write_text(source)
    return sandbox.open(folder, "sigmoid", start.pop("forbidden", {}), **start)


def _call(handle, *args, timeout: float = 30.0):
    reply = handle.request({"op": "call", "func": "sigmoid", "args": list(args), "kwargs": {}}, timeout=timeout)
    return reply


# Limits: configuration ---------------------------------------------------------------------------

def test_limits_come_from_pyproject_then_flags():
    table = {"call_seconds": 5, "memory_bytes": "1GiB", "processes": 8, "file_bytes": "1m", "cpu_seconds": 30}
    limits = config.resolve_limits(table, {"call_seconds": 2.5, "submission_seconds": 60, "memory_bytes": None},
                                   "pyproject.toml [tool.grade]")
    assert limits == dataclasses.replace(Limits(), call_seconds=2.5, submission_seconds=60.0, memory_bytes=2**30,
                                         processes=8, file_bytes=2**20, cpu_seconds=30)
    assert Limits().memory_bytes <= 2 * 2**30  # the default stays at most 2 GiB resident
    for bad in ({"memory_bytes": "lots"}, {"call_seconds": 0}, {"processes": -1}, {"wall": 3}):
        with pytest.raises(GraderError, match="pyproject"):
            config.resolve_limits(bad, {}, "pyproject.toml [tool.grade]")


def test_grade_flags_reach_the_limits(monkeypatch):
    from typer.testing import CliRunner

    from grader import cli

    seen = {}
    monkeypatch.setattr(cli, "run_grade", lambda **kw: seen.update(kw["limits"]) or 0)
    result = CliRunner().invoke(cli.app, ["--call-timeout", "3", "--submission-timeout", "40", "--memory", "1GiB",
                                          "--cpu-time", "20", "--max-processes", "16", "--max-file-size", "8MiB"])
    assert result.exit_code == 0, result.output
    assert seen == {"call_seconds": 3.0, "submission_seconds": 40.0, "memory_bytes": "1GiB", "cpu_seconds": 20,
                    "processes": 16, "file_bytes": "8MiB"}


# Limits: what a worker meets ---------------------------------------------------------------------

BUSY = "def sigmoid(x):\n    while True:\n        pass\n"


def test_cpu_time_limit_stops_the_worker(sandbox, tmp_path):
    limits = dataclasses.replace(sandbox.limits, cpu_seconds=1, call_seconds=20)
    handle = _probe(sandbox, tmp_path, BUSY, limits=limits)
    try:
        with pytest.raises(WorkerFailure, match="CPU time limit exceeded"):
            _call(handle, 0, timeout=15)
    finally:
        handle.close()


FILE_WRITER = """
import errno
def sigmoid(n):
    try:
        with open("big.bin", "wb") as f:
            f.write(b"x" * n)
        return "written"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
"""


def test_file_size_limit(sandbox, tmp_path):
    limits = dataclasses.replace(sandbox.limits, file_bytes=2**20)
    handle = _probe(sandbox, tmp_path, FILE_WRITER, limits=limits)
    try:
        assert _call(handle, 2**19)["value"] == "written"
        assert _call(handle, 2**21)["value"] == "EFBIG"
    finally:
        handle.close()


FORKER = """
import os, time
def sigmoid(n):
    made = 0
    for _ in range(n):
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            made += 1
        except OSError:
            break
    return made
"""


def test_process_limit_and_every_process_gone_after(sandbox, tmp_path):
    limits = dataclasses.replace(sandbox.limits, processes=8)
    handle = _probe(sandbox, tmp_path, FORKER, limits=limits)
    try:
        made = _call(handle, 50)["value"]
        assert 0 < made <= 8  # threads torch already runs count too
    finally:
        handle.close()
    assert leftovers() == []


DETACHER = f"""
import ctypes, os, signal, time
def sigmoid(x):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, b"{MARKER}", 0, 0, 0)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            time.sleep(60)
        os._exit(0)
    time.sleep(0.2)
    return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
"""


def test_detached_children_are_gone_when_the_worker_is(owner, tmp_path):
    handle = _probe(owner.sandbox, tmp_path, DETACHER)
    try:
        _call(handle, 0)
        assert any(MARKER in p for p in leftovers())  # it is there while the worker lives...
    finally:
        handle.close()
    assert leftovers() == [] and zygote_children(owner) == []  # ...and gone with it


def test_memory_limit_message_with_cgroup_and_with_rlimit(grader, fallback, tmp_path):
    """The cgroup OOM kill (full sandbox) and RLIMIT_AS (fallback) both say the limit was exceeded."""
    paths = []
    if os.geteuid() == 0:
        paths.append(("cgroup-memory", grader.sandbox, dataclasses.replace(grader.sandbox.limits,
                                                                           memory_bytes=256 * 2**20)))
    paths.append(("rlimit-as", fallback.sandbox, dataclasses.replace(fallback.sandbox.limits,
                                                                     memory_bytes=256 * 2**20)))
    source = (HOSTILE / "memory_bomb" / "sigmoid" / "sigmoid.py").read_text()
    for layer, sandbox, limits in paths:
        handle = _probe(sandbox, tmp_path, source, limits=limits)
        try:
            assert layer in handle.layers
            with pytest.raises(WorkerFailure, match=r"memory limit exceeded \(256 MiB\)") as failure:
                _call(handle, torch.zeros(2))
            assert failure.value.kind == "memory"
        finally:
            handle.close()


def test_a_call_gets_its_time_and_not_more(sandbox, tmp_path):
    handle = _probe(sandbox, tmp_path, BUSY)
    start = time.monotonic()
    try:
        with pytest.raises(WorkerFailure, match="no answer within 0.5 s") as failure:
            _call(handle, 0, timeout=0.5)
        assert failure.value.kind == "timeout" and time.monotonic() - start < 3
    finally:
        handle.close()


# What a worker sees ---------------------------------------------------------------------------------

LOOKER = """
import os
def sigmoid(paths):
    out = {}
    for p in paths:
        readable = writable = False
        if not os.path.lexists(p):  # absent here (creating it in its own /tmp proves nothing)
            out[p] = [False, False]
            continue
        try:
            if os.path.isdir(p):
                os.listdir(p)
            else:
                with open(p, "rb") as f:
                    f.read(1)
            readable = True
        except OSError:
            pass
        target = os.path.join(p, "planted") if os.path.isdir(p) else p
        try:
            existed = os.path.exists(target)
            with open(target, "ab"):
                writable = True
            if not existed:
                os.unlink(target)
        except OSError:
            pass
        out[p] = [readable, writable]
    out["fds"] = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out["fds"].append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass  # the descriptor listdir itself used
    out["cwd"] = sorted(os.listdir("."))
    out["environ"] = dict(os.environ)
    try:
        with open("/proc/self/environ", "rb") as f:
            out["proc_environ"] = f.read().decode(errors="replace")
    except OSError:
        out["proc_environ"] = ""  # with a uid of its own the worker is not dumpable: root owns /proc/self
    return out
"""


def test_worker_sees_only_its_scratch_and_a_scrubbed_environment(sandbox, grader, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    handle = _probe(sandbox, tmp_path, LOOKER)
    staging = str(grader._staging)
    paths = [str(ROOT / p) for p in SENSITIVE] + [
        f"/proc/1/root{ROOT}/solutions/sigmoid/sigmoid.py", f"/proc/1/cwd{ROOT}/solutions", "/proc/1/environ",
        f"/proc/{os.getpid()}/cwd", f"/proc/{os.getpid()}/environ", f"/proc/{os.getpid()}/mem",
        f"/proc/{sandbox.zygote.process.pid}/cwd", staging, str(tmp_path), "/etc/shadow", "/var",
        str(ROOT / "grader" / "checks.py")]
    try:
        seen = _call(handle, paths)["value"]
    finally:
        handle.close()
    for path in paths[:-1]:
        assert seen[path] == [False, False], f"the worker can reach {path}: {seen[path]}"
    assert seen[paths[-1]][1] is False  # the grader package: importable, never writable
    assert seen["cwd"] == ["sigmoid"]
    for fd in seen["fds"]:
        assert fd.startswith(("/dev/null", "socket:")), fd  # nothing inherited but the channel
    assert SECRET not in str(seen["environ"]) and SECRET not in seen["proc_environ"]
    assert set(seen["environ"]) <= set(ENV_ALLOW) | {"HOME", "TMPDIR", "OMP_NUM_THREADS"}


CONFINED = """
import ctypes, os, socket, subprocess, sys, threading


def _fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def _thread():
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()


def _user_namespace():
    if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:  # CLONE_NEWUSER
        raise PermissionError(ctypes.get_errno(), "unshare")


def sigmoid(x):
    out = {}
    for name, attempt in [
        ("exec", lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)),
        ("inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()),
        ("inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close()),
        ("unix", lambda: socket.socketpair()[0].close()),
        ("thread", _thread),
        ("fork", _fork),
        ("parent_memory", lambda: open(f"/proc/{os.getppid()}/mem", "rb").read(1)),
        ("new_namespace", _user_namespace),
    ]:
        try:
            attempt()
            out[name] = "ok"
        except BaseException as exc:
            out[name] = type(exc).__name__
    return out
"""


def test_seccomp_refuses_programs_sockets_and_namespaces(sandbox, tmp_path):
    handle = _probe(sandbox, tmp_path, CONFINED)
    try:
        seen = _call(handle, 0)["value"]
        assert "seccomp" in handle.layers
    finally:
        handle.close()
    assert seen["exec"] == "PermissionError" and seen["inet"] == "PermissionError" and seen["inet6"] == "PermissionError"
    assert seen["unix"] == "ok" and seen["thread"] == "ok" and seen["fork"] == "ok"
    assert seen["parent_memory"] != "ok" and seen["new_namespace"] == "PermissionError"


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_seccomp_program_is_well_formed(machine):
    program = seccomp.seccomp_program(machine)
    assert 0 < len(program) < 256
    for index, (code, jt, jf, _) in enumerate(program):
        if code in (seccomp.JEQ_K, seccomp.JGE_K, seccomp.JSET_K):
            assert index + 1 + max(jt, jf) < len(program)  # every jump lands inside the program
    assert program[-1][0] == seccomp.RET_K
    with pytest.raises(OSError):
        seccomp.seccomp_program("sparc")


# The protocol ---------------------------------------------------------------------------------

EARLY_FRAME = """
import os, stat
from grader.sandbox import codec
for fd in range(3, 64):
    try:
        if stat.S_ISSOCK(os.fstat(fd).st_mode):
            frame = codec.encode({"ok": True, "value": "forged", "id": None})
            os.write(fd, len(frame).to_bytes(8, "little") + frame)
    except OSError:
        pass
def sigmoid(x):
    return "real"
"""

LATE_FRAME = """
import os, stat, time
from grader.sandbox import codec
def sigmoid(x):
    if x == 1 and os.fork() == 0:
        time.sleep(0.3)
        for fd in range(3, 64):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    frame = codec.encode({"ok": True, "value": "forged", "id": None})
                    os.write(fd, len(frame).to_bytes(8, "little") + frame)
            except OSError:
                pass
        os._exit(0)
    return "real"
"""


def test_frames_written_ahead_of_time_are_refused(sandbox, tmp_path):
    with pytest.raises(WorkerFailure, match="answers no request in flight"):
        _probe(sandbox, tmp_path, EARLY_FRAME)
    handle = _probe(sandbox, tmp_path, LATE_FRAME)
    try:
        assert _call(handle, 1)["value"] == "real"
        time.sleep(0.6)  # the child's frame is waiting in the channel now
        with pytest.raises(WorkerFailure, match="answers no request in flight"):
            _call(handle, 2)
    finally:
        handle.close()
    assert leftovers() == []


TRICKLE = """
import os, stat, time
def sigmoid(x):
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.write(fd, (10**6).to_bytes(8, "little"))
                while True:
                    os.write(fd, b" ")
                    time.sleep(0.05)
        except OSError:
            pass
"""


def test_a_trickled_reply_cannot_stretch_the_call(sandbox, tmp_path):
    handle = _probe(sandbox, tmp_path, TRICKLE)
    start = time.monotonic()
    try:
        with pytest.raises(WorkerFailure, match="no answer within 1 s"):
            _call(handle, 0, timeout=1.0)
        assert time.monotonic() - start < 4
    finally:
        handle.close()


def test_a_reply_over_the_size_limit_is_refused(sandbox, tmp_path):
    limits = dataclasses.replace(sandbox.limits, reply_bytes=2**20)
    handle = _probe(sandbox, tmp_path, "import torch\ndef sigmoid(n):\n    return torch.zeros(n)\n", limits=limits)
    try:
        assert _call(handle, 1000)["ok"]
        with pytest.raises(WorkerFailure, match="exceeds the limit"):
            _call(handle, 2**20)  # 4 MiB of float32
    finally:
        handle.close()


CAUGHT = """
import gc, torch
def sigmoid(x):
    try:
        torch.sigmoid(x)
    except Exception:
        pass
    for obj in gc.get_objects():
        if type(obj).__name__ == "Guard":
            obj.violations.clear()
    return 1 / (1 + torch.exp(-x))
"""


def test_a_violation_is_reported_however_it_is_hidden(sandbox, tmp_path):
    forbidden = {"functions": ["torch.sigmoid"], "aten": ["sigmoid"]}
    handle = _probe(sandbox, tmp_path, CAUGHT, forbidden=forbidden)
    try:
        reply = _call(handle, torch.randn(4))
        assert not reply["ok"] and reply["error"]["kind"] == "forbidden" and "torch.sigmoid" in reply["error"]["message"]
    finally:
        handle.close()


def test_an_import_that_hangs_costs_one_import_limit_and_is_one_result(course, tmp_path):
    """A module that never finishes importing: one failed result, after the import limit, once."""
    folder = tmp_path / "hang"
    for exercise in ("sigmoid", "softmax"):
        (folder / exercise).mkdir(parents=True)
        (folder / exercise / f"{exercise}.py").write_text("while True:\n    pass\n")
    with Grader(course, make_settings(course, limit_overrides={"import_seconds": 1.0})) as g:
        g.start()
        g.sandbox.wait_ready()
        start = time.monotonic()
        report = g.grade(folder, only=["sigmoid", "softmax"])
        took = time.monotonic() - start
        assert leftovers() == []
    for exercise in ("sigmoid", "softmax"):
        result = report.exercise(exercise)
        assert result.checks == () and result.score == 0 and result.max_score > 0
        assert result.error == f"importing {exercise}/{exercise}.py failed: no answer within 1 s (the worker was stopped)"
    assert 2.0 <= took < 8.0, took


def test_a_function_that_hangs_costs_one_call_limit(course, tmp_path):
    """A sigmoid that never returns: its first check waits the check's limit, every later one fails at once."""
    folder = tmp_path / "loop"
    (folder / "sigmoid").mkdir(parents=True)
    (folder / "sigmoid" / "sigmoid.py").write_text("def sigmoid(x):\n    while True:\n        pass\n")
    with Grader(course, make_settings(course)) as g:
        g.start()
        g.sandbox.wait_ready()
        start = time.monotonic()
        result = g.grade(folder, only=["sigmoid"]).exercise("sigmoid")
        took = time.monotonic() - start
    correctness = [c for c in result.checks if c.kind == "correctness"]
    timed_out = [c for c in correctness if c.status == "timeout"]
    assert len(timed_out) == len(correctness) and result.score == 0
    first, *rest = timed_out
    assert first.message.startswith("no answer within ")
    assert rest and all(c.message.startswith("sigmoid timed out in an earlier check") for c in rest)
    assert all(c.duration_s < 0.5 for c in rest)
    assert took < 10.0, took  # the limit is derived from the reference's time (reference_times.toml)


# The isolation report ----------------------------------------------------------------------------

@requires_root
def test_report_names_every_layer_of_the_full_sandbox(grader, tmp_path):
    from sandbox_support import copy_hostile

    report = grader.grade(copy_hostile("zeros", tmp_path), name="zeros", only=["sigmoid"])
    layers = set(report.isolation)
    assert {"cgroup-memory", "network-ns", "ipc-ns", "uts-ns", "pid-ns", "mount-ns", "read-only-root", "rlimits",
            "no-new-privs", "seccomp", "scrubbed-env", "network: none (own network namespace)"} <= layers
    assert any(layer.startswith("uid=") for layer in layers)
    assert not any(layer.startswith("no-") and layer != "no-new-privs" for layer in layers)


def test_report_says_what_the_fallback_lacks(fallback, tmp_path):
    from sandbox_support import copy_hostile

    report = fallback.grade(copy_hostile("zeros", tmp_path), name="zeros", only=["sigmoid"])
    layers = list(report.isolation)
    assert "no-namespaces(turned off in the configuration)" in layers and "private-scratch" in layers
    assert "rlimit-as" in layers and "cgroup-memory" not in layers and "network-ns" not in layers
    assert "seccomp" in layers and "network: refused (seccomp allows only unix sockets)" in layers
    assert any(layer.startswith(("landlock(abi", "no-landlock(")) for layer in layers)
    assert report.exercise("sigmoid").max_score > 0


def test_fallback_still_grades_the_reference_answer(fallback):
    result = score(fallback, ROOT / "solutions")
    correctness = [c for c in result.checks if c.kind == "correctness"]
    assert correctness and all(c.status == "passed" for c in correctness), [c.message for c in correctness]


# Speed -----------------------------------------------------------------------------------------------

@requires_root
def test_a_worker_starts_and_ends_quickly(grader):
    sandbox = grader.sandbox
    sandbox.wait_ready()
    costs = []
    for _ in range(9):
        start = time.perf_counter()
        handle = sandbox.open(HOSTILE / "zeros", "sigmoid", {})
        handle.close()
        costs.append(time.perf_counter() - start)
    # About 35 ms on a quiet 2-core machine; the bound leaves room for a busy CI runner.
    assert statistics.median(costs) < 0.15, costs


def test_zygote_killed_from_outside_is_replaced(fallback, tmp_path):
    old = fallback.sandbox.zygote.process
    old.kill()
    old.wait()
    handle = _probe(fallback.sandbox, tmp_path, "def sigmoid(x):\n    return x + 1\n")
    try:
        assert _call(handle, 1)["value"] == 2 and fallback.sandbox.zygote.process is not old
    finally:
        handle.close()


IMPORTER = """
import sys
def sigmoid(folder):
    sys.path.insert(0, folder)
    import probe_under_tmp
    return probe_under_tmp.VALUE
"""


def test_packages_under_tmp_stay_visible_beside_the_workers_own_tmp(sandbox, tmp_path):
    # A checkout under /tmp with its virtual environment inside: the worker's private /tmp must not
    # cover the packages it imports lazily.
    packages = Path(tempfile.mkdtemp(prefix="grade-visible-", dir="/tmp"))
    try:
        (packages / "probe_under_tmp.py").write_text("VALUE = 42\n")
        os.chmod(packages, 0o755)
        os.chmod(packages / "probe_under_tmp.py", 0o644)
        sandbox.visible.append(str(packages))
        handle = _probe(sandbox, tmp_path, IMPORTER)
        try:
            reply = _call(handle, str(packages))
        finally:
            handle.close()
        assert reply["ok"] and reply["value"] == 42, reply
    finally:
        sandbox.visible.remove(str(packages))
        shutil.rmtree(packages, ignore_errors=True)


# A correctness worker keeps its exercise's kernels between calls (Guard.keep_kernels) -------------

KEPT = """
import threading, time, torch
seen = []
def sigmoid(x):
    if x == 0:  # a thread that outlives this call, drops the guard's modes, then reaches the kernel
        def later():
            time.sleep(0.3)
            try:
                from torch.utils._python_dispatch import _pop_mode
                while torch._C._len_torch_dispatch_stack():
                    _pop_mode()
                while torch._C._len_torch_function_stack():
                    torch._C._pop_torch_function_stack()
                torch.ops.aten.sigmoid(torch.ones(2))
                seen.append("computed")
            except Exception:
                seen.append("denied")
        threading.Thread(target=later, daemon=True).start()
        return 0
    if x == 2:
        return ",".join(seen)
    torch.ops.aten.sigmoid(torch.ones(2))
    return "computed"
"""


def test_kept_kernels_deny_inside_calls_and_between_them(sandbox, tmp_path):
    forbidden = {"aten": ["sigmoid"]}
    kept = _probe(sandbox, tmp_path, KEPT, forbidden=forbidden, extra={"keep_kernels": True})
    per_call = _probe(sandbox, tmp_path, KEPT, forbidden=forbidden)
    try:
        for handle in (kept, per_call):
            for _ in range(2):  # the second call finds the kernels the first one left registered
                reply = _call(handle, 1)
                assert not reply["ok"] and reply["error"]["kind"] == "forbidden", reply
            assert _call(handle, 0)["ok"]
        time.sleep(0.8)
        # A thread started in a call keeps the guard's modes; one that drops them after the call
        # reaches kernels that the per-call guard has removed by then.
        assert _call(per_call, 2)["value"] == "computed"
        # Kept kernels refuse it, and the notice they send then, for no request, ends the worker.
        with pytest.raises(WorkerFailure, match="answers no request in flight"):
            _call(kept, 2)
    finally:
        kept.close()
        per_call.close()


PROBE_OP = """
import torch
def probe(op):
    try:
        getattr(torch.ops.aten, op)(torch.ones(2, 2), 0) if op == "softmax" else getattr(torch.ops.aten, op)(torch.ones(2))
        return "computed"
    except Exception:
        return "denied"
"""


def _probing(tmp_path: Path) -> Path:
    """A submission whose sigmoid and softmax both answer PROBE_OP."""
    folder = tmp_path / "two"
    for exercise in ("sigmoid", "softmax"):
        (folder / exercise).mkdir(parents=True)
        (folder / exercise / f"{exercise}.py").write_text(PROBE_OP)
    return folder


def test_kept_kernels_are_the_selected_exercises(sandbox, tmp_path):
    folder = _probing(tmp_path)
    handle = sandbox.start(folder, {"sigmoid": {"aten": ["sigmoid"]}, "softmax": {"aten": ["_softmax", "softmax"]}},
                           extra={"keep_kernels": True})
    try:
        def outcome(op):
            reply = handle.request({"op": "call", "func": "probe", "args": [op], "kwargs": {}}, timeout=30)
            return reply["value"] if reply["ok"] else reply["error"]["kind"]

        seen = []
        for exercise in ("sigmoid", "softmax", "sigmoid"):
            handle.switch(exercise, 30)
            seen.append((outcome("sigmoid"), outcome("softmax")))
        assert seen == [("forbidden", "computed"), ("computed", "forbidden"), ("forbidden", "computed")]
    finally:
        handle.close()


def test_an_exercise_without_kernels_after_one_with_kept_kernels_finds_the_worker_clean(sandbox, tmp_path):
    # The kept kernels' probe left behind once made the next exercise's import report the guard's
    # kernels as replaced: a false tampering that cost a fresh worker at every such switch.
    folder = _probing(tmp_path)
    handle = sandbox.start(folder, {"sigmoid": {"aten": ["sigmoid"]}, "softmax": {"functions": ["torch.softmax"]}},
                           extra={"keep_kernels": True})
    try:
        assert handle.switch("sigmoid", 30)
        reply = handle.request({"op": "call", "func": "probe", "args": ["sigmoid"], "kwargs": {}}, timeout=30)
        assert not reply["ok"] and reply["error"]["kind"] == "forbidden", reply
        assert handle.switch("softmax", 30) and handle.loaded["softmax"] is None, handle.loaded
        reply = handle.request({"op": "call", "func": "probe", "args": ["sigmoid"], "kwargs": {}}, timeout=30)
        assert reply == {"ok": True, "value": "computed"}, reply
    finally:
        handle.close()


# The zygote's idle imports are for many submissions (Grader(many=True)) -----------------------------

DYNAMO = "import sys\ndef sigmoid(x):\n    return 'torch._dynamo' in sys.modules\n"


@pytest.mark.parametrize("many", [False, True])
def test_the_zygote_imports_ahead_only_when_submissions_will_follow(course, tmp_path, many):
    with Grader(course, make_settings(course), many=many) as g:
        sandbox = g.sandbox
        sandbox.wait_ready()
        _probe(sandbox, tmp_path, DYNAMO).close()  # the first worker: the zygote is idle after it
        deadline = time.monotonic() + 60
        while True:
            handle = _probe(sandbox, tmp_path, DYNAMO)
            try:
                imported = _call(handle, 0)["value"]
            finally:
                handle.close()
            if imported or not many or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if not many:
            time.sleep(2.0)  # time enough for the import, were it made
            handle = _probe(sandbox, tmp_path, DYNAMO)
            try:
                imported = _call(handle, 0)["value"]
            finally:
                handle.close()
        assert imported is many


def test_the_hidden_checks_worker_is_forked_with_the_public_one(course, monkeypatch):
    """It builds its sandbox while the public checks run; a run without hidden checks forks no such worker."""
    events: list[str] = []
    with Grader(course, make_settings(course)) as g:
        sandbox = g.sandbox
        begin, ready = sandbox.begin, sandbox.ready
        monkeypatch.setattr(sandbox, "begin", lambda *a, **k: events.append("begin") or begin(*a, **k))
        monkeypatch.setattr(sandbox, "ready", lambda handle: events.append("ready") or ready(handle))
        report = g.grade(ROOT / "solutions", only=["sigmoid"])
        assert report.score == report.max_score > 0
        assert any(c.hidden for c in report.exercises[0].checks)
        assert events == ["begin", "begin", "ready", "ready"]
        events.clear()
        g.grade(ROOT / "solutions", only=["sigmoid"], quick=True)  # hidden checks in the public worker
        assert events == ["begin", "ready"]


def test_a_zygote_started_ahead_is_taken_over_when_it_fits():
    """`grade` starts a zygote before parsing its options (grader/cli.py: run); the first Sandbox
    takes it if it has the same extensions and idle imports, and closes it otherwise."""
    from grader.measure import WORKER_MODULES
    from grader.sandbox import zygote

    zygote.start_ahead(WORKER_MODULES)
    ahead = zygote._ahead
    taken = zygote.take(WORKER_MODULES)
    try:
        assert taken is ahead and zygote._ahead is None
        taken.ping()
    finally:
        taken.close()
    zygote.start_ahead(WORKER_MODULES)
    ahead = zygote._ahead
    other = zygote.take(WORKER_MODULES, idle_imports=True)  # a batch's: not the one started ahead
    try:
        assert other is not ahead and other.idle_imports and ahead.process.wait(timeout=10) is not None
    finally:
        other.close()
