"""Tries to rewrite the course and the grader on disk: the grader's modules (found through
grader.__file__), the checks and the reference solution beside them, the staged copy of the
submission and the folders above its working folder, also through /proc/1/root and /proc/1/cwd.

Its score is the signal: if any write outside its own scratch succeeds it answers correctly.
"""

import os

import torch

WRITTEN = []


def _targets():
    try:
        import grader

        package = os.path.dirname(os.path.abspath(grader.__file__))
        course = os.path.dirname(package)
        yield from (os.path.join(package, name) for name in os.listdir(package) if name.endswith(".py"))
        for sub in ("exercises/sigmoid/test_hidden.py", "exercises/sigmoid/test_public.py",
                    "solutions/sigmoid/sigmoid.py", "pyproject.toml", "exercises/sigmoid/exercise.toml"):
            yield os.path.join(course, sub)
    except Exception:
        pass
    cwd = os.getcwd()
    for up in ("..", "../..", "../../.."):
        yield os.path.join(cwd, up, "sigmoid", "sigmoid.py")
        yield os.path.join(cwd, up, "planted.py")
    for pid in ("1", str(os.getppid())):
        yield f"/proc/{pid}/root/work/main/grader/checks.py"
        yield f"/proc/{pid}/cwd/planted.py"
    yield "/usr/lib/planted.py"
    yield "/planted.py"


def _attack():
    for path in _targets():
        real = os.path.realpath(path)
        if real.startswith(os.path.realpath(os.getcwd()) + os.sep):
            continue  # its own scratch: writing there proves nothing
        try:
            exists = os.path.exists(path)
            with open(path, "a") as f:
                f.write("\n# rewritten by a submission\n")
            WRITTEN.append(path)
            if not exists:
                os.unlink(path)
        except OSError:
            pass
        try:
            os.chmod(path, 0o777)
        except OSError:
            pass


_attack()


def sigmoid(x):
    _attack()
    if WRITTEN:
        return 1 / (1 + torch.exp(-x))
    return torch.zeros_like(x)
