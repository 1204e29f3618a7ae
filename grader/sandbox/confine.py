"""How a freshly forked worker confines itself before any student code runs.

``isolate`` runs in the worker, still privileged, before any student code. On Linux as root: a
memory cgroup, new mount, network, IPC, UTS and PID namespaces, a read-only root holding only what
Python and torch need (hidden paths covered), a tmpfs scratch with the submission's files, then a
uid of its own, rlimits, no_new_privs and a seccomp filter. Elsewhere as much of that as the OS
allows; every layer, and every one that could not be applied, is named in the list it returns.
The seccomp filter and the Landlock fallback are in ``grader.sandbox.seccomp`` and
``grader.sandbox.landlock``; how the zygote ends a worker is ``grader.sandbox.reaper``.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import time

from grader.sandbox.landlock import install_landlock
from grader.sandbox.seccomp import install_seccomp
from grader.sandbox.syscalls import CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, \
    CLONE_NEWUTS, LINUX, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, \
    MS_REC, MS_REMOUNT, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, \
    check, libc, mount, prctl

ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
             "LD_LIBRARY_PATH", "CUDA_HOME")

# Entering the sandbox --------------------------------------------------------------------------

def isolate(cfg: dict, channel: socket.socket) -> list[str]:
    """Enter the sandbox described by ``cfg``; return the isolation layers that are active.

    Absent layers are named too (``no-namespaces(reason)``, ``network: open``) so that the report
    says honestly what protected this run.
    """
    layers: list[str] = []
    os.setsid()
    limits = cfg["limits"]
    root = os.geteuid() == 0
    uid = int(cfg["uid"]) if root and cfg.get("uid") else None
    done: list[str] = []
    workdir = None
    if not cfg.get("namespaces", True):
        layers.append("no-namespaces(turned off in the configuration)")
    elif not (root and LINUX):
        layers.append("no-namespaces(needs root on Linux)")
    else:
        try:
            workdir = _enter_namespaces(cfg, uid, done)
        except OSError as exc:
            if cfg.get("require_namespaces"):
                raise
            layers.append(f"no-namespaces({exc.strerror or exc})")
    layers += done
    if cfg.get("cgroup") and in_cgroup(cfg["cgroup"]):
        layers.insert(0, "cgroup-memory")
    if workdir is None:
        workdir = _private_scratch(cfg, uid)
        layers.append("private-scratch")
    if LINUX and prctl(PR_SET_CHILD_SUBREAPER, 1):
        pass  # descendants stay this worker's while it lives, and come back to the zygote after
    as_limit = _set_limits(limits, uid, with_address_space="cgroup-memory" not in layers)
    layers.append("rlimits")
    if as_limit:
        layers.append("rlimit-as")
    elif "cgroup-memory" not in layers:
        layers.append("no-memory-limit")  # e.g. CUDA without a cgroup: RLIMIT_AS would break the driver
    if uid is not None:
        os.setgroups([])
        if hasattr(os, "setresuid"):
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        else:  # macOS: setuid as root sets all three
            os.setgid(uid)
            os.setuid(uid)
        layers.append(f"uid={uid}")
    else:
        layers.append("same-uid-as-grader")
    if prctl(PR_SET_NO_NEW_PRIVS, 1):
        layers.append("no-new-privs")
    if "mount-ns" not in layers:
        try:
            abi = install_landlock(list(cfg["visible"]), [workdir], list(cfg.get("devices", ())) + ["/proc/self"])
            layers.append(f"landlock(abi {abi})")
        except OSError as exc:
            layers.append(f"no-landlock({exc.strerror or exc})")
    try:
        install_seccomp()
        layers.append("seccomp")
    except OSError as exc:
        layers.append(f"no-seccomp({exc.strerror or exc})")
    if "network-ns" in layers:
        layers.append("network: none (own network namespace)")
    elif "seccomp" in layers:
        layers.append("network: refused (seccomp allows only unix sockets)")
    else:
        layers.append("network: open")
    os.chdir(workdir)
    env = {k: v for k, v in cfg.get("env", {}).items() if k in ENV_ALLOW}
    os.environ.clear()
    os.environ.update(env)
    os.environ.update({"HOME": workdir, "TMPDIR": workdir, "OMP_NUM_THREADS": str(cfg.get("threads", 1))})
    layers.append("scrubbed-env")
    return layers


def _enter_namespaces(cfg: dict, uid: int | None, done: list[str]) -> str:
    """Build the worker's root and chroot into it; ``done`` names each namespace entered on the way."""
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID), "unshare")
    done += ["network-ns", "ipc-ns", "uts-ns"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = cfg["root"]
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")
    # The worker's own /tmp comes first: Python and its packages may live under /tmp (a checkout
    # there with its virtual environment inside), and their binds must land on top of it, not under.
    os.makedirs(root + "/tmp", exist_ok=True)
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64m,mode=1777")
    for path in cfg["visible"]:
        if not os.path.exists(path):
            continue
        target = root + path
        if os.path.isdir(path):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
        mount(path, target, None, MS_BIND | MS_REC)
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | MS_NOSUID | MS_NODEV)
    # Whatever must stay hidden but lies inside a visible folder is covered by an empty one.
    for path in cfg.get("hidden", ()):
        target = root + path
        if os.path.isdir(target):
            mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=555")
        elif os.path.lexists(target):
            # An empty file in its place, read-only: /dev/null itself would take writes.
            mount("/dev/null", target, None, MS_BIND)
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
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
            mount(dev, root + dev, None, MS_BIND | MS_REC)
    work = root + "/submission"
    os.makedirs(work, exist_ok=True)
    size = int(cfg["limits"].get("scratch_bytes", 256 * 2**20))
    mount("tmpfs", work, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"size={size},mode=700")
    _copy_tree(cfg["scratch"], work, uid)
    os.makedirs(root + "/proc", exist_ok=True)
    mount(None, root, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    # The zygote moves this process into its cgroup while it builds its root; the child below
    # must be forked inside it.
    if cfg.get("cgroup"):
        in_cgroup(cfg["cgroup"])
    # PID namespace: the next child is its init; when it dies every process inside dies with it.
    pid = os.fork()
    if pid:
        os.closerange(3, 65536)
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    # (Should the waiter die before this line, the cgroup and uid sweeps still end this process.)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    done.append("pid-ns")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chroot(root)
    os.chdir("/")
    done += ["mount-ns", "read-only-root"]
    return "/submission"


def attach_cgroup(pid: int, group: str) -> None:
    """Move ``pid`` into ``group`` (in the zygote, right after the fork: it takes milliseconds)."""
    try:
        with open(os.path.join(group, "cgroup.procs"), "w") as f:
            f.write(str(pid))
    except OSError:
        pass  # the worker sees it is not inside and reports no cgroup


def in_cgroup(group: str, timeout: float = 2.0) -> bool:
    """Wait until this process is in ``group``; whether it is."""
    name = "/" + os.path.basename(group.rstrip("/"))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open("/proc/self/cgroup") as f:
                if any(line.rstrip("\n").endswith(name) for line in f):
                    return True
        except OSError:
            return False
        if time.monotonic() > deadline:
            return False
        time.sleep(0.0002)


def _copy_tree(src: str, dst: str, uid: int | None) -> None:
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        target = dst if rel == "." else os.path.join(dst, rel)
        os.makedirs(target, exist_ok=True)
        if uid is not None:
            os.chown(target, uid, uid)
        for name in filenames:
            out = os.path.join(target, name)
            with open(os.path.join(dirpath, name), "rb") as fin, open(out, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            if uid is not None:
                os.chown(out, uid, uid)


def _private_scratch(cfg: dict, uid: int | None) -> str:
    """Without a mount namespace: a folder of this worker's own holding a copy of the submission."""
    work = cfg["fallback_scratch"]
    os.makedirs(work, mode=0o700)
    _copy_tree(cfg["scratch"], work, uid)
    return work


def _own_process_count() -> int:
    uid, count = os.getuid(), 0
    try:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    count += os.stat(f"/proc/{entry}").st_uid == uid
                except OSError:
                    pass
    except OSError:
        return 0
    return count


def _set_limits(limits: dict, uid: int | None, with_address_space: bool) -> bool:
    """Apply the rlimits; return whether the address space was capped (memory without a cgroup)."""
    def lim(kind: int, value: int | None) -> bool:
        if value is None:
            return False
        try:
            soft, hard = resource.getrlimit(kind)
            value = min(value, hard) if hard != resource.RLIM_INFINITY else value
            resource.setrlimit(kind, (value, value))
            return True
        except (ValueError, OSError):
            return False

    lim(resource.RLIMIT_CORE, 0)
    processes = limits.get("processes")
    if processes is not None and uid is None and LINUX:
        # RLIMIT_NPROC counts every process of the uid: without a uid of its own, count what exists.
        processes += _own_process_count()
    lim(resource.RLIMIT_NPROC, processes)
    lim(resource.RLIMIT_FSIZE, limits.get("file_bytes"))
    lim(resource.RLIMIT_NOFILE, limits.get("open_files"))
    cpu = limits.get("cpu_seconds")
    if cpu is not None:
        try:  # SIGXCPU at the limit; SIGKILL a second later for a process that ignores it
            resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 1))
        except (ValueError, OSError):
            pass
    if with_address_space and limits.get("memory_bytes") and not limits.get("cuda"):
        # Without a cgroup, cap the address space at what torch already maps plus the budget.
        try:
            with open("/proc/self/statm") as f:
                mapped = int(f.read().split()[0]) * resource.getpagesize()
        except OSError:
            mapped = 0
        return lim(resource.RLIMIT_AS, mapped + int(limits["memory_bytes"]))
    return False
