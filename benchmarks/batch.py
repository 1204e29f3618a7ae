"""Seconds per student: ``grade batch`` against one ``grade`` process per student, and one ``grade``
against an in-process floor (torch imported, the same checks run, student code called directly).

    .venv/bin/python benchmarks/batch.py                       # 40 students of sigmoid, 2 workers
    .venv/bin/python benchmarks/batch.py --students 80 --sample 6 -e sigmoid -e softmax

Every number is the wall-clock time of a fresh process, start-up included, so the batch's figure is
what an instructor waits for. The class cycles through the reference answer, the stub and the wrong
answers of the chosen exercises. Timing checks are off throughout (they measure the student, not the
grader). Not run in CI.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_class(folder: Path, exercises: list[str], students: int) -> list[Path]:
    """``students`` submissions: answer i of each exercise cycles through solution, stub, wrong answers."""
    variants = {e: [ROOT / "solutions" / e / f"{e}.py", ROOT / "exercises" / e / f"{e}.py",
                    *sorted((ROOT / "tests" / "wrong_answers" / e).glob("*.py"))] for e in exercises}
    out = []
    for i in range(students):
        sub = folder / f"student{i:03d}"
        for e in exercises:
            (sub / e).mkdir(parents=True)
            shutil.copy(variants[e][i % len(variants[e])], sub / e / f"{e}.py")
        out.append(sub)
    return out


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return time.perf_counter() - t0


def floor(submission: Path, exercises: list[str]) -> None:
    """The in-process floor: import torch and run the same checks, calling the student's code directly."""
    import pytest
    import torch  # noqa: F401 - the cost every grader pays once

    modules = {}
    for e in exercises:
        spec = importlib.util.spec_from_file_location(e, submission / e / f"{e}.py")
        modules[e] = importlib.util.module_from_spec(spec)
        sys.modules[e] = modules[e]
        try:
            spec.loader.exec_module(modules[e])
        except Exception:  # noqa: BLE001 - a broken answer fails its checks, as in the grader
            pass

    class Direct:
        """The ``submission`` fixture without a sandbox: attribute access is the student's function."""

        def __init__(self, exercise: str):
            self._module = modules.get(exercise)

        def __getattr__(self, name):
            return getattr(self._module, name)

        def call(self, name, *args, **kwargs):
            return getattr(self._module, name)(*args, **kwargs)

        mutating = call

        def of(self, exercise):
            return Direct(exercise)

    class Plugin:
        def pytest_configure(self, config):
            config.addinivalue_line("markers", "check(points=1, kind='correctness'): a scored check")
            config.addinivalue_line("markers", "cuda: needs a CUDA device")

        @pytest.fixture
        def submission(self, request):
            return Direct(Path(str(request.node.path)).parent.name)

        @pytest.fixture
        def device(self):
            return torch.device("cpu")

    paths = [str(p) for e in exercises for p in sorted((ROOT / "exercises" / e).glob("test_*.py"))]
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    pytest.main(["-c", str(ROOT / "grader" / "pytest-grade.ini"), "--rootdir", str(ROOT / "exercises"),
                 "--import-mode=importlib", "-p", "no:cacheprovider", "-q", "--no-header", "-p", "no:terminal",
                 *paths], plugins=[Plugin()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40, help="students in the batch")
    parser.add_argument("--sample", type=int, default=4, help="students graded one process each")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("-e", "--exercise", action="append", help="exercise id (repeatable; default sigmoid)")
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    exercises = args.exercise or ["sigmoid"]
    if args.floor:
        floor(args.floor, exercises)
        return
    py = sys.executable
    sel = [x for e in exercises for x in ("-e", e)] + ["--no-timing"]
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        subs = make_class(Path(tmp) / "class", exercises, args.students)
        wall([py, "-c", "import torch"])  # warm the page cache for every measurement alike
        batch = wall([py, "-m", "grader", "batch", str(Path(tmp) / "class"), "--out", str(Path(tmp) / "out"),
                      "--workers", str(args.workers), *sel])
        inside = statistics.median(json.loads(p.read_text())["duration_s"]
                                   for p in (Path(tmp) / "out" / "reports").glob("*.json"))
        sample = subs[: args.sample]
        single = [wall([py, "-m", "grader", "-s", str(s), *sel]) for s in sample]
        floors = [wall([py, __file__, "--floor", str(s), *[x for e in exercises for x in ("-e", e)]]) for s in sample]
    per_batch, per_process, per_floor = batch / args.students, statistics.median(single), statistics.median(floors)
    load = os.getloadavg()[0]
    print(f"{args.students} students of {', '.join(exercises)}, timing off; {len(os.sched_getaffinity(0))} cores, "
          f"load average {load:.1f} at the end")
    print(f"{'':44}{'s/student':>10}")
    print(f"{f'grade batch --workers {args.workers} ({args.students} students)':44}{per_batch:>10.3f}")
    print(f"{f'one grade process per student (median of {len(sample)})':44}{per_process:>10.3f}")
    print(f"{'  speed-up of the batch':44}{per_process / per_batch:>9.1f}x   (goal >= 10x)")
    print(f"{'  one student inside the batch (median)':44}{inside:>10.3f}   (start-up excluded, per worker)")
    print(f"{f'in-process floor, no isolation (median of {len(sample)})':44}{per_floor:>10.3f}")
    print(f"{'  one grade over the floor':44}{per_process / per_floor:>9.2f}x   (goal <= 1.3x)")


if __name__ == "__main__":
    main()
