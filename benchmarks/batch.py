"""Grading speed at the size users work at: the whole course, a mixed class, a hang among them.

    .venv/bin/python benchmarks/batch.py                  # a class of 24 on the whole course, 2 workers
    .venv/bin/python benchmarks/batch.py --students 52 --selfcheck

Printed side by side, from one run (timing checks off except in the first `grade`):

- the first `grade` on a fresh copy (every exercise still the stub, timing on), and its lines;
- `grade -s SEED5` (the five seed exercises answered) and the same with `-e` for the five, each
  against the in-process floor of those five exercises (a fresh process that imports torch and
  runs the same checks under plain pytest, calling the student's code directly, no isolation);
- a student whose sigmoid never returns (`-e sigmoid`);
- `grade batch --workers N` of the class against one `grade` process per student (every kind of
  student timed once, weighted by how many the class holds), and against the floor of each
  student's checks in one warm process, divided by the workers;
- with --selfcheck, `grade selfcheck` of the whole course.

The class cycles through: every exercise answered, the seed five only, nothing, wrong answers
everywhere, and the seed five with a sigmoid that hangs or an adam step that crashes its worker.
The floor cannot run a hang or a crash in-process, so those exercises are left out of it (what the
grader spends on them is its limit, not overhead); it does the work of the memory checks (their
calls and the reference's, unmeasured), which run with timing off too. Every number is a wall-clock time; the ratios
are what to read on a shared machine. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ["sigmoid", "mlp_forward", "bce_loss", "mlp_backward", "adam"]
KINDS = ["all", "seed5", "none", "wrong", "seed5", "all", "hang", "wrong", "seed5", "none", "crash", "seed5"]
HANG = "def sigmoid(x):\n    while True:\n        pass\n"
CRASH = "import os\n\n\ndef adam_step(*args, **kwargs):\n    os._exit(3)\n"


def course_ids() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "exercises").glob("*/exercise.toml"))


def depends(exercise: str) -> list[str]:
    meta = tomllib.loads((ROOT / "exercises" / exercise / "exercise.toml").read_text())
    return list(meta.get("depends", ()))


def make_student(folder: Path, kind: str, index: int) -> tuple[Path, list[str]]:
    """A submission of ``kind``; the exercises the floor can run for it (attempted, neither hanging nor crashing)."""
    folder.mkdir(parents=True)
    ids = course_ids()
    answered = ids if kind in ("all", "wrong") else SEED if kind in ("seed5", "hang", "crash") else []
    for e in answered:
        source = ROOT / "solutions" / e / f"{e}.py"
        wrong = sorted((ROOT / "tests" / "wrong_answers" / e).glob("*.py"))
        if kind == "wrong" and wrong:
            source = wrong[index % len(wrong)]
        (folder / e).mkdir()
        shutil.copy(source, folder / e / f"{e}.py")
    for e in answered:  # what the answers import from other exercises comes along, as a student would have it
        for d in depends(e):
            if not (folder / d).exists():
                shutil.copytree(ROOT / "solutions" / d, folder / d)
    runnable = list(answered)
    if kind == "hang":
        (folder / "sigmoid" / "sigmoid.py").write_text(HANG)
        runnable.remove("sigmoid")
    if kind == "crash":
        (folder / "adam" / "adam.py").write_text(CRASH)
        runnable.remove("adam")
    return folder, runnable


def wall(cmd: list[str], cwd: Path = ROOT) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "COLUMNS": "100"})
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    return time.perf_counter() - t0, done.stdout


# The in-process floor ------------------------------------------------------------------------------

def run_checks(submission: Path, exercises: list[str]) -> None:
    """Run the exercises' checks under plain pytest in this process, calling the student's code directly."""
    import importlib.util

    import pytest
    import torch

    ids = set(course_ids())
    for name in [n for n in sys.modules if n.split(".")[0] in ids]:
        del sys.modules[name]  # each student's modules, and the checks, afresh
    sys.path[:0] = [str(submission / e) for e in sorted(os.listdir(submission))]
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
            self._module = modules.get(exercise) or sys.modules.get(exercise)

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

    run_memory_checks(modules, exercises)
    paths = [str(p) for e in exercises for p in sorted((ROOT / "exercises" / e).glob("test_*.py"))]
    if not paths:
        return
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    # The plugins the grader's own session leaves out (grader/grading/session.py) stay out here too.
    code = pytest.main(["-c", str(ROOT / "grader" / "grading" / "pytest-grade.ini"), "--rootdir", str(ROOT / "exercises"),
                        "--import-mode=importlib", "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:stepwise",
                        "-p", "no:unraisableexception", *paths], plugins=[Plugin()])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise SystemExit(f"the floor's pytest session did not run ({code!r})")


def run_memory_checks(modules: dict, exercises: list[str]) -> None:
    """What a ``[[memory]]`` check computes, without measuring: a warm-up call, the measured call and
    the reference on the same inputs (the grader's memory checks run even with --no-timing)."""
    from grader.course.discover import load_course
    from grader.measure import draw, memory

    course = load_course(ROOT)
    for e in exercises:
        for budget in memory.parse_tables(course.get(e)):
            plan = memory.plan_for(budget, "cpu")
            fn = getattr(modules.get(e), plan.function, None) if plan else None
            if fn is None:
                continue
            args, kwargs = draw.make_call(plan.template, plan.seed, 0, "cpu")
            try:
                fn(*args, **kwargs)
                fn(*args, **kwargs)
            except Exception:  # noqa: BLE001 - a wrong answer fails its memory check, as in the grader
                continue
            if plan.reference:
                draw.resolve(plan.reference)(*args, **kwargs)


def floor_main(plan: Path) -> None:
    """``--floor PLAN``: a fresh process; with ``warm``, time each student after a warm-up, else once."""
    job = json.loads(plan.read_text())
    os.chdir(tempfile.mkdtemp(prefix="grade-floor-"))  # student code writes files (token_loader): not into the course
    import torch

    torch.set_num_threads(1)  # as the grader's workers run
    if not job["warm"]:
        (submission, exercises), = job["students"]
        run_checks(Path(submission), exercises)
        return
    times = []
    run_checks(Path(job["students"][0][0]), job["students"][0][1])  # warm-up: imports, first-use costs
    for submission, exercises in job["students"]:
        t0 = time.perf_counter()
        run_checks(Path(submission), exercises)
        times.append(time.perf_counter() - t0)
    Path(job["out"]).write_text(json.dumps(times))


def floor_cold(tmp: Path, submission: Path, exercises: list[str]) -> float:
    plan = tmp / "plan.json"
    plan.write_text(json.dumps({"warm": False, "students": [[str(submission), exercises]]}))
    return wall([sys.executable, __file__, "--floor", str(plan)])[0]


def floor_warm(tmp: Path, students: list[tuple[Path, list[str]]]) -> list[float]:
    plan, out = tmp / "warm.json", tmp / "warm-times.json"
    plan.write_text(json.dumps({"warm": True, "out": str(out), "students": [[str(s), e] for s, e in students]}))
    wall([sys.executable, __file__, "--floor", str(plan)])
    return json.loads(out.read_text())


# The run ---------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=24, help="students in the class")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the single-student rows")
    parser.add_argument("--selfcheck", action="store_true", help="also time `grade selfcheck` of the whole course")
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        floor_main(args.floor)
        # The floor ends as `grade` does (grader/cli.py: leave): its time is the checks', not the
        # most of a second an interpreter that imported torch._dynamo spends tearing itself down.
        sys.stdout.flush()
        os._exit(0)
    py, grade = sys.executable, [sys.executable, "-m", "grader"]
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as name:
        tmp = Path(name)
        wall([py, "-c", "import torch"])  # warm the page cache for every measurement alike
        first, output = wall(grade)
        rows.append(("first `grade` on a fresh copy (stubs, timing on)", f"{first:.2f} s",
                     f"{len(output.splitlines())} lines (goal <= 4 s, one screen)"))

        seed, _ = make_student(tmp / "seed5", "seed5", 0)
        sel = [x for e in SEED for x in ("-e", e)]
        # Interleaved rounds (floor, grade, grade -e), the median of each round's ratios: a shared
        # machine's drift falls on both sides of a ratio alike.
        rounds = [(floor_cold(tmp, seed, SEED), wall([*grade, "-s", str(seed), "--no-timing"])[0],
                   wall([*grade, "-s", str(seed), "--no-timing", *sel])[0]) for _ in range(args.rounds)]
        floor5 = statistics.median(r[0] for r in rounds)
        rows.append(("in-process floor of the seed five (fresh process)", f"{floor5:.2f} s",
                     f"median of {args.rounds} interleaved rounds"))
        for i, label in ((1, "`grade -s SEED5 --no-timing`"), (2, "`grade -s SEED5 --no-timing -e` the five")):
            ratio = statistics.median(r[i] / r[0] for r in rounds)
            rows.append((label, f"{statistics.median(r[i] for r in rounds):.2f} s",
                         f"{ratio:.2f}x the floor (goal <= 1.3x)"))

        hang, _ = make_student(tmp / "hang", "hang", 0)
        hung = wall([*grade, "-s", str(hang), "--no-timing", "-e", "sigmoid"])[0]
        rows.append(("a sigmoid that never returns, `-e sigmoid`", f"{hung:.2f} s", "goal <= 10 s"))

        cls = tmp / "class"
        students = [make_student(cls / f"s{i:03d}-{KINDS[i % len(KINDS)]}", KINDS[i % len(KINDS)], i)
                    for i in range(args.students)]
        batch = wall([*grade, "batch", str(cls), "--out", str(tmp / "out"), "--workers", str(args.workers),
                      "--no-timing"])[0] / args.students
        kinds = sorted(set(KINDS[i % len(KINDS)] for i in range(args.students)))
        one = {k: wall([*grade, "-s", str(next(s for s, _ in students if s.name.endswith(f"-{k}"))),
                        "--no-timing"])[0] for k in kinds}
        per_process = statistics.fmean(one[KINDS[i % len(KINDS)]] for i in range(args.students))
        floors = floor_warm(tmp, students)
        per_floor = statistics.fmean(floors)
        rows.append((f"`grade batch --workers {args.workers}`, {args.students} students", f"{batch:.2f} s/student", ""))
        rows.append(("one `grade` process per student (each kind once, weighted)", f"{per_process:.2f} s/student",
                     f"the batch is {per_process / batch:.1f}x faster (goal 4-5x)"))
        rows.append(("floor of each student's checks, one warm process", f"{per_floor:.2f} s/student",
                     f"batch = {batch / (per_floor / args.workers):.2f}x floor/workers (goal <= 1.5x)"))
        inside = {p.stem: json.loads(p.read_text())["duration_s"] for p in (tmp / "out" / "reports").glob("*.json")}
        rows.append(("  one student inside the batch (median duration_s)", f"{statistics.median(inside.values()):.2f} s",
                     ""))
        for kind in kinds:  # where the time goes: each kind inside the batch against its floor
            mine = [i for i in range(args.students) if KINDS[i % len(KINDS)] == kind]
            batch_k = statistics.fmean(inside[students[i][0].name] for i in mine)
            floor_k = statistics.fmean(floors[i] for i in mine)
            rows.append((f"  {kind}: inside the batch / floor", f"{batch_k:.2f} / {floor_k:.2f} s",
                         f"{batch_k / floor_k:.2f}x" if floor_k > 0.05 else ""))
        if args.selfcheck:
            checked, output = wall([*grade, "selfcheck"])
            rows.append(("`grade selfcheck` of the whole course", f"{checked:.0f} s",
                         (output.strip().splitlines() or [""])[-1][:60] + " (goal <= 300 s)"))
    load = os.getloadavg()[0]
    print(f"{len(course_ids())} exercises; {len(os.sched_getaffinity(0))} cores; load average {load:.1f} at the end")
    width = max(len(r[0]) for r in rows) + 2
    for what, value, note in rows:
        print(f"{what:<{width}}{value:>16}   {note}")


if __name__ == "__main__":
    main()
