"""How a freshly forked worker confines itself, and how the zygote ends a worker with all it started.

``isolate`` runs in the worker, still privileged, before any student code. On Linux as root: a
memory cgroup, new mount, network, IPC, UTS and PID namespaces, a read-only root holding only what
Python and torch need (hidden paths covered), a tmpfs scratch with the submission's files, then a
uid of its own, rlimits, no_new_privs and a seccomp filter. Elsewhere as much of that as the OS
allows; every layer, and every one that could not be applied, is named in the list it returns.

``kill_worker`` runs in the zygote: it kills the worker, every process of its uid, and any process
it left behind (the zygote is a child subreaper, so orphans come back to it), then reaps it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import shutil
import signal
import socket
import sys
import time

ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
             "LD_LIBRARY_PATH", "CUDA_HOME")
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (
    0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 0x4000, 1 << 18)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 22, 36, 38
LINUX = sys.platform.startswith("linux")

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src: str | None, dst: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(src.encode() if src else None, dst.encode(), fstype.encode() if fstype else None,
                       flags, data.encode() if data else None), f"mount {dst}")


def _prctl(option: int, value: int) -> bool:
    return LINUX and _libc.prctl(option, value, 0, 0, 0) == 0


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
    if LINUX and _prctl(PR_SET_CHILD_SUBREAPER, 1):
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
    if _prctl(PR_SET_NO_NEW_PRIVS, 1):
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
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID), "unshare")
    done += ["network-ns", "ipc-ns", "uts-ns"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = cfg["root"]
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=755")
    # The worker's own /tmp comes first: Python and its packages may live under /tmp (a checkout
    # there with its virtual environment inside), and their binds must land on top of it, not under.
    os.makedirs(root + "/tmp", exist_ok=True)
    _mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64m,mode=1777")
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
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | MS_NOSUID | MS_NODEV)
    # Whatever must stay hidden but lies inside a visible folder is covered by an empty one.
    for path in cfg.get("hidden", ()):
        target = root + path
        if os.path.isdir(target):
            _mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=555")
        elif os.path.lexists(target):
            # An empty file in its place, read-only: /dev/null itself would take writes.
            _mount("/dev/null", target, None, MS_BIND)
            _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
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
    _mount("tmpfs", work, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"size={size},mode=700")
    _copy_tree(cfg["scratch"], work, uid)
    os.makedirs(root + "/proc", exist_ok=True)
    _mount(None, root, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
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
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    done.append("pid-ns")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
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


# Seccomp ---------------------------------------------------------------------------------------

# Syscalls a worker never needs: running programs (a fresh interpreter would have no guard),
# tracing or reading other processes, namespaces, io_uring (it bypasses the socket check),
# kernel keyrings, BPF, perf, mounts and other administration.
DENIED = ("execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "unshare", "setns",
          "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "userfaultfd",
          "keyctl", "add_key", "request_key", "mount", "umount2", "pivot_root", "chroot", "open_by_handle_at",
          "name_to_handle_at", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
          "mount_setattr", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
          "swapon", "swapoff", "reboot", "acct", "settimeofday", "clock_settime", "adjtimex", "clock_adjtime",
          "process_madvise", "pidfd_getfd")
SYSCALLS = {
    "x86_64": (0xC000003E, {
        "execve": 59, "execveat": 322, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "unshare": 272, "setns": 308, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248,
        "request_key": 249, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "open_by_handle_at": 304, "name_to_handle_at": 303, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "kexec_load": 246,
        "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176, "swapon": 167,
        "swapoff": 168, "reboot": 169, "acct": 163, "settimeofday": 164, "clock_settime": 227, "adjtimex": 159,
        "clock_adjtime": 305, "process_madvise": 440, "pidfd_getfd": 438,
        "socket": 41, "socketpair": 53, "clone": 56, "clone3": 435}),
    "aarch64": (0xC00000B7, {
        "execve": 221, "execveat": 281, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "unshare": 97, "setns": 268, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219, "add_key": 217,
        "request_key": 218, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "open_by_handle_at": 265, "name_to_handle_at": 264, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "kexec_load": 104,
        "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106, "swapon": 224,
        "swapoff": 225, "reboot": 142, "acct": 89, "settimeofday": 170, "clock_settime": 112, "adjtimex": 171,
        "clock_adjtime": 266, "process_madvise": 440, "pidfd_getfd": 438,
        "socket": 198, "socketpair": 199, "clone": 220, "clone3": 435}),
}
NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
    CLONE_NEWNET
AF_UNIX = 1
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_program(machine: str | None = None) -> list[tuple[int, int, int, int]]:
    """The BPF program as (code, jt, jf, k) tuples: deny DENIED, non-unix sockets, namespace clones."""
    machine = machine or platform.machine()
    if machine == "arm64":
        machine = "aarch64"
    if machine not in SYSCALLS:
        raise OSError(errno.ENOSYS, f"no seccomp table for {machine}")
    arch, nr = SYSCALLS[machine]
    code: list = []  # items: (opcode, k, true label or None, false label or None) or a label string

    def op(opcode, k=0, jt=None, jf=None):
        code.append((opcode, k, jt, jf))

    op(LD_W_ABS, 4)  # seccomp_data.arch
    op(JEQ_K, arch, None, "deny")
    op(LD_W_ABS, 0)  # seccomp_data.nr
    if machine == "x86_64":
        op(JGE_K, 0x40000000, "deny", None)  # the x32 ABI
    for name in DENIED:
        op(JEQ_K, nr[name], "deny", None)
    op(JEQ_K, nr["socket"], "socket", None)
    op(JEQ_K, nr["socketpair"], "socket", None)
    op(JEQ_K, nr["clone"], "clone", None)
    op(JEQ_K, nr["clone3"], "enosys", None)  # its flags sit in memory BPF cannot read; libc falls back to clone
    op(RET_K, RET_ALLOW)
    code.append("socket")
    op(LD_W_ABS, 16)  # args[0]: the address family
    op(JEQ_K, AF_UNIX, "allow", "deny")
    code.append("clone")
    op(LD_W_ABS, 16)  # args[0]: the clone flags
    op(JSET_K, NAMESPACE_FLAGS, "deny", "allow")
    code.append("allow")
    op(RET_K, RET_ALLOW)
    code.append("deny")
    op(RET_K, RET_ERRNO | errno.EPERM)
    code.append("enosys")
    op(RET_K, RET_ERRNO | errno.ENOSYS)
    labels, index = {}, 0
    for item in code:
        if isinstance(item, str):
            labels[item] = index
        else:
            index += 1
    out, index = [], 0
    for item in code:
        if isinstance(item, str):
            continue
        opcode, k, jt, jf = item
        rel = [0 if target is None else labels[target] - index - 1 for target in (jt, jf)]
        out.append((opcode, rel[0], rel[1], k))
        index += 1
    return out


def install_seccomp() -> None:
    """Load the filter into this (single-threaded) process; needs no_new_privs or privilege."""
    if not LINUX:
        raise OSError(errno.ENOSYS, "seccomp is Linux only")
    program = seccomp_program()
    filters = (_SockFilter * len(program))(*[_SockFilter(c, jt, jf, k) for c, jt, jf, k in program])
    prog = _SockFprog(len(program), filters)
    _check(_libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(prog), 0, 0), "seccomp")


# Landlock --------------------------------------------------------------------------------------

# Without a mount namespace the worker sees the real file system; Landlock (Linux 5.13+, no
# privilege needed) narrows it to what the worker may read and write, and (ABI 6+) keeps its
# signals and abstract unix sockets inside its own processes.
LANDLOCK_CREATE, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT = 444, 445, 446  # the same on x86_64 and aarch64
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_ABI_BITS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
FS_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | (1 << 14) | (1 << 15)  # those a file (not a folder) takes
NET_TCP = (1 << 0) | (1 << 1)  # bind and connect
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    if not LINUX:
        return 0
    abi = _libc.syscall(LANDLOCK_CREATE, None, 0, 1)  # LANDLOCK_CREATE_RULESET_VERSION
    return abi if abi > 0 else 0


def install_landlock(read: list[str], write: list[str], devices: list[str]) -> int:
    """Allow reading ``read``, everything under ``write``, reading and writing ``devices``; nothing else.

    Returns the Landlock ABI used; raises OSError when the kernel has no Landlock.
    """
    abi = landlock_abi()
    if abi <= 0:
        raise OSError(errno.ENOSYS, "Landlock is not available")
    fs_all = FS_ABI_BITS[max(k for k in FS_ABI_BITS if k <= abi)]
    attr = _RulesetAttr(fs_all, NET_TCP if abi >= 4 else 0,
                        (SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = _libc.syscall(LANDLOCK_CREATE, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock: {os.strerror(err)}")
    try:
        rules = [(p, FS_EXECUTE | FS_READ_FILE | FS_READ_DIR) for p in read]
        rules += [(p, fs_all) for p in write]
        rules += [(p, FS_READ_FILE | FS_WRITE_FILE | FS_READ_DIR | (fs_all & (1 << 15))) for p in devices]
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    access &= FS_FILE_RIGHTS
                rule = _PathBeneath(access & fs_all, fd)
                _check(_libc.syscall(LANDLOCK_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0), f"landlock rule {path}")
            finally:
                os.close(fd)
        _check(_libc.syscall(LANDLOCK_RESTRICT, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi


# Ending workers (in the zygote) ----------------------------------------------------------------

def become_subreaper() -> None:
    """Orphans of the workers come back to this process instead of init, where they can be swept."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def reap(statuses: dict, live: set) -> None:
    """Collect exited children; keep the status (and CPU time) of workers, drop strays."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in live:
            statuses[pid] = (status, usage.ru_utime + usage.ru_stime)


def _code(status: int) -> int:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)


def exit_status(pid: int, statuses: dict, wait: float = 0.0) -> tuple[int | None, float]:
    """(exit code, CPU seconds) of a worker, waiting up to ``wait`` s; the code is None while it runs.

    A negative code is the signal that killed it. The CPU time counts the processes it reaped,
    so a worker that is the init of its PID namespace (which ignores SIGXCPU and dies of the
    SIGKILL at the hard limit) still shows that it used up its CPU time.
    """
    deadline = time.monotonic() + wait
    while True:
        if pid in statuses:
            status, cpu = statuses[pid]
            return _code(status), cpu
        try:
            got, status, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            return None, 0.0
        if got:
            statuses[pid] = (status, usage.ru_utime + usage.ru_stime)
            return exit_status(pid, statuses)
        if time.monotonic() >= deadline:
            return None, 0.0
        time.sleep(0.001)


def exit_code(pid: int, statuses: dict, wait: float = 0.0) -> int | None:
    """The exit code of a worker (negative: killed by that signal), waiting up to ``wait`` seconds."""
    return exit_status(pid, statuses, wait)[0]


def _cgroup_pids(group: str | None) -> list[int]:
    if not group:
        return []
    try:
        with open(os.path.join(group, "cgroup.procs")) as f:
            return [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return []


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_worker(pid: int, uid: int | None, statuses: dict, live: set, cgroup: str | None = None,
                pid_ns: bool = False) -> int | None:
    """Kill a worker and everything it started; reap it; return its exit code.

    With a PID namespace and a cgroup, everything but the waiter (the worker's outer process) is
    killed: the namespace's init takes its descendants with it, the waiter reaps it and exits, and
    nothing is orphaned. Otherwise the worker's process group, its uid's processes and its cgroup's
    are killed, and what it left behind (orphans come back to this subreaper) is swept.
    """
    inside = [p for p in _cgroup_pids(cgroup) if p != pid]
    if pid_ns and inside:
        for p in inside:
            _kill(p)
        code = exit_code(pid, statuses, wait=1.0)
        if code is None:
            _kill(pid)
            code = exit_code(pid, statuses, wait=5.0)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        _kill(pid)
        for p in inside:
            _kill(p)
        if uid:
            kill_uid(uid)
        code = exit_code(pid, statuses, wait=5.0)
    statuses.pop(pid, None)
    live.discard(pid)
    if pid_ns:
        reap(statuses, live)
    else:
        sweep_strays(live)
    return code


def pids_of_uid(uid: int) -> list[int]:
    """Every process of ``uid``, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    out.append(int(entry))
            except OSError:
                pass
    return out


def kill_uid(uid: int, timeout: float = 2.0) -> None:
    """SIGKILL every process of ``uid`` until none is left (each round kills what the last one forked)."""
    if not os.path.isdir("/proc"):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = pids_of_uid(uid)
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.001)


def _children() -> list[int]:
    me = os.getpid()
    try:
        out = []
        for task in os.listdir(f"/proc/{me}/task"):
            with open(f"/proc/{me}/task/{task}/children") as f:
                out += [int(p) for p in f.read().split()]
        return out
    except OSError:
        pass
    out = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def sweep_strays(live: set, timeout: float = 2.0) -> None:
    """Kill and reap children of the zygote that are not live workers: what dead workers left behind."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        strays = [p for p in _children() if p not in live]
        if not strays:
            return
        for p in strays:
            try:
                os.kill(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for p in strays:
            try:
                os.waitpid(p, 0)
            except ChildProcessError:
                pass
