"""Landlock, the fallback without a mount namespace: read only the visible folders, write only the scratch.

Without a mount namespace the worker sees the real file system; Landlock (Linux 5.13+, no
privilege needed) narrows it to what the worker may read and write, and (ABI 6+) keeps its
signals and abstract unix sockets inside its own processes.
"""

from __future__ import annotations

import ctypes
import errno
import os

from grader.sandbox.syscalls import LINUX, check, libc


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
    abi = libc.syscall(LANDLOCK_CREATE, None, 0, 1)  # LANDLOCK_CREATE_RULESET_VERSION
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
    ruleset = libc.syscall(LANDLOCK_CREATE, ctypes.byref(attr), size, 0)
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
                check(libc.syscall(LANDLOCK_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0), f"landlock rule {path}")
            finally:
                os.close(fd)
        check(libc.syscall(LANDLOCK_RESTRICT, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi
