"""Looks for a secret of the grader's environment (AWS_SECRET_ACCESS_KEY and other *SECRET*/*TOKEN*
names): in os.environ, in /proc/self/environ and /proc/<pid>/environ of every visible process, and
in its own memory (everything the zygote and the worker inherited).

Its score is the signal: if it finds a secret it answers correctly, otherwise zeros.
"""

import os
import re

import torch

NAMES = re.compile(rb"(AWS_SECRET_ACCESS_KEY|GRADE_TEST_SECRET)=([A-Za-z0-9+/_-]{16,})")


def _environ_files():
    paths = ["/proc/self/environ"]
    try:
        paths += [f"/proc/{p}/environ" for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        pass
    for path in paths:
        try:
            with open(path, "rb") as f:
                yield f.read()
        except OSError:
            pass


def _memory(limit=768 * 2**20):
    """Readable, writable anonymous regions of this process (heap and what the zygote left there)."""
    try:
        maps = open("/proc/self/maps").read().splitlines()
        mem = open("/proc/self/mem", "rb", buffering=0)
    except OSError:
        return
    total = 0
    for line in maps:
        parts = line.split()
        if len(parts) < 5 or not parts[1].startswith("rw") or (len(parts) > 5 and parts[5].startswith("/")):
            continue
        start, end = (int(v, 16) for v in parts[0].split("-"))
        if end - start > 256 * 2**20 or total > limit:
            continue
        total += end - start
        try:
            mem.seek(start)
            yield mem.read(end - start)
        except (OSError, ValueError, OverflowError):
            continue


def _secret_found():
    for key, value in os.environ.items():
        if "SECRET" in key or "TOKEN" in key:
            return True
    for blob in _environ_files():
        if NAMES.search(blob):
            return True
    for blob in _memory():
        if NAMES.search(blob):
            return True
    return False


_found = None


def sigmoid(x):
    global _found
    if _found is None:
        _found = _secret_found()
    if _found:
        return 1 / (1 + torch.exp(-x))
    return torch.zeros_like(x)
