"""The worker's seccomp filter: no new programs, only unix sockets, no tracing, namespaces or mounts.

A classic BPF program, built here for x86_64 and aarch64 and installed by the worker after it
dropped its privileges (``grader.sandbox.confine``). A refused call fails with ``EPERM``.
"""

from __future__ import annotations

import ctypes
import errno
import platform

from grader.sandbox.syscalls import CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, \
    CLONE_NEWUSER, CLONE_NEWUTS, LINUX, PR_SET_SECCOMP, check, libc


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
    check(libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(prog), 0, 0), "seccomp")
