"""The protocol across the trust boundary, in one place: frames, request ids, ops and error kinds.

Every message is one codec frame (``grader.sandbox.codec``: JSON plus raw tensor bytes, no pickle).

- **zygote** (control socket): ``{"op": "ping"}``, ``{"op": "spawn", "config": {...}}`` (answered with
  the worker's pid and its socket, passed as a file descriptor), ``{"op": "status", "pid", "wait"}``,
  ``{"op": "kill", "pid", "uid", "cgroup", "pid_ns"}``.
- **worker** (its own socket): first, before any student code, the hello frame
  ``{"ok": true, "value": {"layers": [...], ...}, "id": HELLO}``; then one reply per request. A
  request carries an ``id`` drawn by the trusted side after the previous reply, which the reply
  echoes: ``{"op": "load"}``, ``{"op": "call", "func", "args", "kwargs", "return_args"}``,
  ``{"op": "ping"}`` and the measurement requests the zygote's extensions register. A reply is
  ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": {"kind", "type", "message", "where"}}``.
  Between request and reply the worker may send violation notices
  ``{"event": "violation", "what": name, "id": ...}`` (at most ``MAX_EVENTS``).
- **exit codes** a worker's own loop ends with: ``EXIT_BROKEN``, ``EXIT_MEMORY``.

The trusted side believes only what it decodes, and reduces every error to the kinds below and
bounded text (``clean_error``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HELLO = "hello"  # the id of the first frame, sent before any student code runs
EXIT_BROKEN, EXIT_MEMORY = 71, 72  # a worker whose own loop failed; one that ran out of memory in it
ERROR_KINDS = ("exception", "not-implemented", "import", "forbidden", "type", "missing", "tamper", "memory",
               "codec", "protocol")
MAX_EVENTS = 64  # violation notices one request may bring before the worker counts as flooding


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker; every field can be set in ``[tool.grade.limits]`` or by a flag."""

    call_seconds: float = 60.0  # wall clock for one call, at most (a check's own limit may be lower)
    import_seconds: float = 10.0  # wall clock for importing one exercise of the submission
    submission_seconds: float = 900.0  # wall clock for a whole submission
    cpu_seconds: int = 900  # CPU time of each worker process
    memory_bytes: int = 2 * 2**30  # resident memory of a worker and everything it starts
    processes: int = 32  # processes and threads of a worker
    file_bytes: int = 64 * 2**20  # the largest file a worker may write
    open_files: int = 256
    scratch_bytes: int = 256 * 2**20  # the worker's writable scratch (counts against memory too)
    reply_bytes: int = 512 * 2**20  # the largest reply the trusted side accepts


def clean_error(error: object, vocabulary: frozenset = frozenset()) -> dict:
    """The worker's description of a failure, reduced to known kinds and bounded plain text.

    Hidden checks show the text of forbidden-operation and tampering failures: those texts are
    rebuilt here from the policy's own names, so that a submission cannot print through them.
    """
    error = error if isinstance(error, dict) else {}
    kind = error.get("kind") if error.get("kind") in ERROR_KINDS else "exception"
    kind_type = str(error.get("type", "Exception"))
    kind_type = re.sub(r"[^A-Za-z0-9_.]", "", kind_type)[:80] or "Exception"
    message = str(error.get("message", ""))[:2000]
    if kind == "forbidden":
        named = [n for n in sorted(vocabulary, key=len, reverse=True) if n in message][:1]
        message = "used a forbidden operation" + (f": {named[0]}" if named else "")
    elif kind == "tamper":
        message = "the submission altered the grader or its guard"
    return {"kind": kind, "type": kind_type, "message": message, "where": str(error.get("where", "") or "")[:200]}
