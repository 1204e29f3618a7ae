"""How steady are the timing verdicts? An A/A test and the reference answers, measured repeatedly.

For every ``[[timing]]`` table of the chosen exercises this runs the real measurement (the same
:class:`grader.timing_session.Session` a grading run uses, in a sandboxed worker holding the
reference answer) ``--repeats`` times in two ways:

- A/A: the baseline timed against itself. Its ratio should sit at 1; its spread is the noise floor
  of the method on this machine.
- reference: ``solutions/<id>`` against the baseline, with the verdict each time.

Not run in CI (it takes a minute or more). Usage::

    .venv/bin/python benchmarks/timing.py                 # the five seed exercises, 5 repeats
    .venv/bin/python benchmarks/timing.py -e softmax -r 3 --device cuda --rounds
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ["sigmoid", "mlp_forward", "bce_loss", "mlp_backward", "adam"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-e", "--exercise", action="append", help="exercise id (repeatable; default: seed five)")
    parser.add_argument("-r", "--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--course", type=Path, default=ROOT)
    parser.add_argument("--submission", type=Path, default=None, help="default: the course's solutions/")
    parser.add_argument("--rounds", action="store_true", help="print every round of every measurement")
    args = parser.parse_args(argv)

    from grader.grading import config
    from grader.measure import timing
    from grader.course.discover import load_course
    from grader.measure import WORKER_MODULES
    from grader.sandbox.launcher import Sandbox
    from grader.sandbox.staging import stage
    from grader.measure.timing_session import Session

    course = load_course(args.course)
    args.submission = args.submission or course.root / "solutions"
    settings = config.resolve(course=course.root, course_settings=course.settings, submission=args.submission,
                              exercises=None, device=args.device, timing=True)
    ids = args.exercise or [i for i in SEED if any(e.id == i for e in course.exercises)]
    staging = Path(tempfile.mkdtemp(prefix="grade-bench-"))
    sandbox = Sandbox(settings.limits, hidden=[course.root, staging], device=settings.device,
                      namespaces=settings.namespaces, extensions=WORKER_MODULES)
    print(f"device {settings.device}, {args.repeats} repeats; ratio = median over rounds of "
          f"student block / baseline block")
    header = f"{'check':<28} {'budget':>6}  {'A/A ratio (min-max)':>22} {'A/A noise':>9}  " \
             f"{'reference ratios':<40} verdicts"
    print(header)
    print("-" * len(header))
    try:
        for exercise_id in ids:
            exercise = course.get(exercise_id)
            staged = stage(args.submission, [exercise_id], staging / exercise_id)
            extra = timing.worker_config(exercise, settings)
            for budget in timing.parse_tables(exercise):
                plan = timing.plan_for(budget, settings.device)
                if plan is None:
                    continue
                results = {"aa": [], "ref": []}
                for _ in range(args.repeats):
                    for kind in ("aa", "ref"):
                        handle = sandbox.open(staged.root, exercise_id, exercise.forbidden, extra=extra)
                        try:
                            with timing.anchor_worker(sandbox, exercise, settings) as anchor:
                                session = Session(handle, anchor, plan, remaining=lambda: 600.0, aa=kind == "aa")
                                t0 = time.monotonic()
                                result = session.run()
                                results[kind].append((result, time.monotonic() - t0, session))
                        finally:
                            handle.close()
                        if args.rounds:
                            _print_rounds(f"{budget.name} {kind}", result, session)
                aa = [r.ratio for r, _, _ in results["aa"] if r.ratio is not None]
                noise = [r.extra.get("noise", 0.0) for r, _, _ in results["aa"]]
                ref = [r.ratio for r, _, _ in results["ref"]]
                verdicts = [r.verdict for r, _, _ in results["ref"]]
                aa_text = f"{statistics.median(aa):.2f} ({min(aa):.2f}-{max(aa):.2f})" if aa else "-"
                ref_text = " ".join(f"{x:.2f}" if x is not None else "-" for x in ref)
                seconds = statistics.median(t for _, t, _ in results["ref"])
                print(f"{exercise_id + '.' + budget.name:<28} {plan.budget:>6g}  {aa_text:>22} "
                      f"{statistics.median(noise) if noise else 0:>9.2f}  {ref_text:<40} "
                      f"{_summary(verdicts)} ({seconds:.1f} s each)")
                sys.stdout.flush()
    finally:
        sandbox.close()
    return 0


def _summary(verdicts: list[str]) -> str:
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v] = counts.get(v, 0) + 1
    return ", ".join(f"{n}× {v}" for v, n in counts.items())


def _print_rounds(label: str, result, session) -> None:
    print(f"  {label}: {result.verdict} {result.message} {result.to_dict()}")
    for i, r in enumerate(session.rounds):
        print(f"    round {i + 1:>2}: base {r.base_ns / 1e6:8.2f} ms  anchor {r.anchor_ns / 1e6:8.2f} ms  "
              f"student {r.student_ns / 1e6:8.2f} ms  prepare {r.prepare_ns[0] / 1e6:7.2f}/"
              f"{r.prepare_ns[1] / 1e6:7.2f} ms  draw {r.draw_ns / 1e6:7.2f} ms  "
              f"ratio {r.student_ns / r.base_ns:6.2f}")


if __name__ == "__main__":
    sys.exit(main())
