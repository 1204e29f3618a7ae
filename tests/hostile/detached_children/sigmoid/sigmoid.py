"""Leaves detached processes behind (double fork, setsid, SIGTERM and SIGHUP ignored), named
``hostile-linger`` so that a test can look for them, which keep trying to rewrite the course.
Answers zeros."""

import ctypes
import os
import signal
import time

import torch


def _linger():
    try:
        ctypes.CDLL(None).prctl(15, b"hostile-linger", 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGUSR1):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        for path in ("/work/main/grader/checks.py", "../../grader/checks.py"):
            try:
                with open(path, "a") as f:
                    f.write("# lingering\n")
            except OSError:
                pass
        time.sleep(0.05)


def _detach():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            try:
                _linger()
            finally:
                os._exit(0)
        os._exit(0)


try:
    _detach()
except OSError:
    pass


def sigmoid(x):
    try:
        _detach()
    except OSError:
        pass
    return torch.zeros_like(x)
