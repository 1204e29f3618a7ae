"""The grader's exceptions: the one it raises about itself, and what becomes of a worker that cannot answer.

Student failures are results, not exceptions: a ``WorkerFailure`` is turned into a failed check.
"""


class GraderError(Exception):
    """The grader cannot do what it was asked (bad option, missing course, unreadable config)."""

    exit_code = 2


class WorkerFailure(Exception):
    """The worker could not answer: it died, exited, hung, ran out of memory or broke the protocol."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind  # "timeout" | "memory" | "exit" | "protocol"
