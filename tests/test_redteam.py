"""The red team: every hostile submission under tests/hostile/ earns no more than an honest all-zeros
answer, leaves the course untouched and leaves no process behind.

Several hostiles answer correctly only when their attack works (they found the solution, a secret,
the network, a way past the guard): their score is the signal. Hostiles that hang or blow up run
under a grader with tight limits; the others share the session's grader. Bad input (requirement:
a clear reason for the exercise concerned, the others still graded) is graded here end to end.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, requires_root
from sandbox_support import (HOSTILE, copy_hostile, course_snapshot, leftovers, score, tampered,
                             tight_grader, zygote_children)

# name -> a phrase some failed check of it must show (what stopped it), or None (it just earns nothing)
SESSION = {
    "eq_liar_tensor": "cannot be returned",
    "eq_containers": "cannot be returned",
    "exit_at_import": "exited with status 0",
    "sysexit_at_import": "SystemExit",
    "exit_in_call": "exited with status 0",
    "patch_grader": "altered the grader",
    "snoop_memory": None,
    "snoop_files": None,
    "print_results": None,
    "forge_frames": "answers no request in flight",
    "rewrite_files": None,
    "disable_guard_modes": "disabling the grader's guard",
    "disable_guard_redispatch": "forbidden operation",
    "disable_guard_thread": "forbidden operation",
    "disable_guard_catch": "forbidden operation: torch.sigmoid",
    "disable_guard_patch": "altered the grader",
    "disable_guard_exec": None,
    "disable_guard_library": "forbidden operation",
    "fork_bomb": None,
    "detached_children": None,
}
TIGHT = {
    "infinite_loop": "no answer within",
    "infinite_loop_at_import": "importing sigmoid/sigmoid.py failed: no answer within",
    "memory_bomb": "memory limit exceeded",
    "memory_bomb_at_import": "memory limit exceeded",
    "ignore_sigterm": "no answer within",
    "fork_bomb": None,
    "detached_children": None,
    "snoop_env": None,
}


def test_every_hostile_submission_is_exercised():
    on_disk = {p.name for p in HOSTILE.iterdir() if (p / "sigmoid" / "sigmoid.py").is_file()}
    assert on_disk == set(SESSION) | set(TIGHT) | {"zeros", "network"}
    for name in on_disk:
        assert '"""' in (HOSTILE / name / "sigmoid" / "sigmoid.py").read_text(), f"{name} needs a docstring"


@pytest.fixture(scope="module")
def tight(course):
    # Started with a secret in the environment: the zygote's own environment must not carry it.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_SECRET_ACCESS_KEY", "zygote-secret-7f3a9c1b2d4e6f80")
        grader = tight_grader(course)
    yield grader
    grader.close()


@pytest.fixture(scope="module")
def baselines(grader, tight, tmp_path_factory):
    """The honest all-zeros answer's score under each grader: what no hostile may beat."""
    tmp = tmp_path_factory.mktemp("zeros")
    grader.sandbox.wait_ready()
    full = score(grader, copy_hostile("zeros", tmp / "full"))
    limited = score(tight, copy_hostile("zeros", tmp / "tight"))
    assert full.max_score > 0 and full.score < full.max_score  # zeros is wrong, but earns something
    return {"session": full.score, "tight": limited.score}


def _attack(grader, name: str, baseline: float, tmp_path: Path, expect: str | None, prepare=None):
    before = course_snapshot()
    submission = copy_hostile(name, tmp_path)
    if prepare:
        prepare(submission)
    result = score(grader, submission)
    messages = [c.message for c in result.checks if c.status != "passed"] + [result.error or ""]
    assert result.score <= baseline, f"{name} earned {result.score} > {baseline}: " + \
        "; ".join(f"{c.name}={c.status}" for c in result.checks)
    assert tampered(before) == [], f"{name} changed the course's files"
    assert leftovers() == [], f"{name} left processes behind"
    assert zygote_children(grader) == [], f"{name} left children of the zygote"
    if expect is not None:
        assert any(expect in m for m in messages), f"{name}: no check says {expect!r}: {messages[:3]}"
    return result


@requires_root
@pytest.mark.parametrize("name", sorted(SESSION))
def test_hostile_earns_nothing(grader, baselines, name, tmp_path):
    _attack(grader, name, baselines["session"], tmp_path, SESSION[name])


@requires_root
@pytest.mark.parametrize("name", sorted(TIGHT))
def test_hostile_under_tight_limits_earns_nothing(tight, baselines, name, tmp_path, monkeypatch):
    if name == "snoop_env":  # and one in the grader's environment now: it must not reach the worker
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "worker-secret-0a1b2c3d4e5f6789")
        monkeypatch.setenv("GRADE_TEST_SECRET", "worker-secret-0a1b2c3d4e5f6789")
    _attack(tight, name, baselines["tight"], tmp_path, TIGHT[name])


@requires_root
def test_import_that_hangs_is_tried_once(tight, baselines, tmp_path):
    import time

    start = time.monotonic()
    result = _attack(tight, "infinite_loop_at_import", baselines["tight"], tmp_path, "failed: no answer within")
    # One result with the reason, after one import limit: no check waits for it again.
    assert result.checks == () and result.error and result.max_score > 0
    assert time.monotonic() - start < tight.settings.limits.import_seconds + 5


@requires_root
def test_network_is_unreachable(grader, baselines, tmp_path):
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.settimeout(0.05)
    abstract = f"grade-test-{os.getpid()}"
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind("\0" + abstract)
    unix.listen(8)
    unix.settimeout(0.05)
    try:
        def target(submission: Path) -> None:
            (submission / "sigmoid" / "target.txt").write_text(f"{tcp.getsockname()[1]} {abstract}")

        _attack(grader, "network", baselines["session"], tmp_path, None, prepare=target)
        for listener in (tcp, unix):
            with pytest.raises(socket.timeout):
                listener.accept()  # nobody connected
    finally:
        tcp.close()
        unix.close()


# Bad input: a clear reason for the exercise concerned, the other exercises still graded ------------

def _companion(course) -> str:
    """An exercise graded beside sigmoid: the first (in course order) that depends on nothing."""
    return next(e.id for e in course.exercises if e.id != "sigmoid" and not e.depends
                and (ROOT / "solutions" / e.id / f"{e.id}.py").is_file())


@pytest.fixture(scope="module")
def companion_alone(grader, course):
    name = _companion(course)
    return name, grader.grade(ROOT / "solutions", name="solutions", only=[name]).exercise(name)


def _folder(tmp: Path, companion: str, sigmoid: bytes | None) -> Path:
    root = tmp / "submission"
    shutil.copytree(ROOT / "solutions" / companion, root / companion)
    if sigmoid is not None:
        (root / "sigmoid").mkdir(parents=True)
        (root / "sigmoid" / "sigmoid.py").write_bytes(sigmoid)
    return root


def _zipped(folder: Path, extra: dict[str, bytes] | None = None, links: dict[str, str] | None = None) -> Path:
    path = folder.with_suffix(".zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                z.write(file, file.relative_to(folder))
        for name, data in (extra or {}).items():
            z.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, target)
    return path


def _case(kind: str, tmp: Path, companion: str) -> Path:
    source = {
        "syntax_error": b"def sigmoid(x)\n    return x\n",
        "import_error": b"import no_such_module_anywhere\n\ndef sigmoid(x):\n    return x\n",
        "missing_function": b"def sigmod(x):\n    return x\n",
        "wrong_signature": b"def sigmoid(x, temperature):\n    return x\n",
        "wrong_return_type": b"def sigmoid(x):\n    return {0.5}\n",
        "non_utf8": b"def sigmoid(x):\n    return x  # \xff\xfe\n",
    }
    if kind in source:
        return _folder(tmp, companion, source[kind])
    if kind == "symlink_folder":
        root = _folder(tmp, companion, None)
        (root / "sigmoid").mkdir()
        (root / "sigmoid" / "sigmoid.py").symlink_to(ROOT / "solutions" / "sigmoid" / "sigmoid.py")
        return root
    if kind == "enormous_file":
        root = _folder(tmp, companion, b"def sigmoid(x):\n    return x\n")
        with open(root / "sigmoid" / "data.bin", "wb") as f:
            f.truncate(64 * 2**20)  # sparse
        return root
    folder = _folder(tmp, companion, b"import torch\n\ndef sigmoid(x):\n    return 1 / (1 + torch.exp(-x))\n")
    if kind == "zip_escaping":
        return _zipped(folder, extra={"sigmoid/../../../planted.py": b"x = 1\n"})
    if kind == "symlink_zip":
        return _zipped(folder, links={"sigmoid/helper.py": str(ROOT / "solutions" / "sigmoid" / "sigmoid.py")})
    if kind == "zip_bomb":
        return _zipped(folder, extra={"sigmoid/bomb.bin": b"\0" * (64 * 2**20)})
    if kind == "not_a_zip":
        path = tmp / "submission.zip"
        path.write_bytes(b"PK\x03\x04" + os.urandom(2000))
        return path
    raise ValueError(kind)


BAD = {
    "syntax_error": "SyntaxError", "import_error": "ModuleNotFoundError", "missing_function": "defines no function",
    "wrong_signature": "TypeError", "wrong_return_type": "cannot be returned", "non_utf8": "not valid UTF-8",
    "symlink_folder": "points outside the submission", "enormous_file": "too large",
    "zip_escaping": "escapes the archive's root", "symlink_zip": "is a link", "zip_bomb": "too large",
    "not_a_zip": "not a readable zip archive",
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_input_fails_its_exercise_with_a_reason(grader, course, companion_alone, kind, tmp_path):
    companion, alone = companion_alone
    before = course_snapshot()
    submission = _case(kind, tmp_path, companion)
    report = grader.grade(submission, name=kind, only=["sigmoid", companion])
    sigmoid = report.exercise("sigmoid")
    # A file that cannot be staged or imported is one result with the reason; one that imports fails its checks.
    assert sigmoid.score == 0 and sigmoid.max_score > 0 and all(c.status != "passed" for c in sigmoid.checks)
    assert bool(sigmoid.checks) != bool(sigmoid.error), (sigmoid.checks, sigmoid.error)
    reasons = [c.message for c in sigmoid.checks] + [sigmoid.error or ""]
    assert any(BAD[kind] in r for r in reasons), reasons[:2]
    other = report.exercise(companion)
    if kind == "not_a_zip":  # nothing can be read: every exercise says why
        assert other.score == 0 and BAD[kind] in (other.error or "")
    else:  # graded as if sigmoid were not there
        assert (other.score, other.max_score, other.error) == (alone.score, alone.max_score, alone.error)
    assert tampered(before) == [] and leftovers() == []


BORROW = '''"""Answers with the grader's own timing baseline, which does the same work as the solution."""
from grader.measure.baselines import normalize
'''


@requires_root
def test_the_grader_baselines_are_out_of_reach_of_correctness_checks(grader, tmp_path):
    # grader/measure/baselines/ holds reference-like code for the timing checks; workers that answer
    # correctness checks see an empty file in its place.
    (tmp_path / "normalize").mkdir()
    (tmp_path / "normalize" / "normalize.py").write_text(BORROW)
    result = grader.grade(tmp_path, only=["normalize"]).exercise("normalize")
    assert result.score == 0 and result.checks == ()
    assert result.error.startswith("importing normalize/normalize.py failed: ") and "baselines" in result.error
