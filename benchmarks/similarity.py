"""How well the similarity screen separates copies from independent answers: the default threshold's basis.

    .venv/bin/python benchmarks/similarity.py

For every exercise of the course it compares, with grade's own screen (copydetect, boilerplate
removed, only exercises where both wrote at least MIN_CHARS characters of their own judged):

- copies: each answer (the reference, every wrong answer, every independent answer) against a
  disguised copy of itself (tests/certify_support.py: names renamed, functions reordered, docstrings
  and comments rewritten, layout redone);
- independent pairs: the reference against each independent answer, and those against each other
  (tests/independent_answers);
- reference ~ wrong answer pairs, printed apart: many wrong answers are the reference with one bug
  put in, that is derived code, so they show what a near copy scores rather than what honest
  classmates do.

It prints, per kind, how many pairs were judged and their score quantiles, then the share of each
kind at or above candidate thresholds. Not run in CI.
"""

from __future__ import annotations

import sys
import tempfile
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from certify_support import INDEPENDENT, WRONG, disguise, functions_of, put, reference  # noqa: E402
from grader.certify.similarity import DEFAULT_THRESHOLD, screen  # noqa: E402
from grader.course.discover import load_course  # noqa: E402


def pair_scores(course, exercise: str, pairs: list[tuple[str, str]], tmp: Path) -> list[float]:
    """Scores of judged pairs, each pair compared as two students of a class of two."""
    scores = []
    for i, (a, b) in enumerate(pairs):
        root = tmp / f"{exercise}-{i}"
        put(root / "a", exercise, a)
        put(root / "b", exercise, b)
        s = screen(course=course, submissions={"a": root / "a", "b": root / "b"}, exercise_ids=[exercise])
        scores += [m.score for m in s.matches if m.judged]
    return scores


def quantiles(v: list[float]) -> str:
    if not v:
        return "none judged"
    v = sorted(v)
    q = lambda p: v[min(len(v) - 1, int(p * len(v)))]  # noqa: E731
    return f"n={len(v):3}  min {v[0]:.2f}  p5 {q(.05):.2f}  median {q(.5):.2f}  p95 {q(.95):.2f}  max {v[-1]:.2f}"


def main() -> None:
    course = load_course(ROOT)
    kinds: dict[str, list[float]] = {"copies": [], "independent": [], "reference ~ wrong answer": []}
    with tempfile.TemporaryDirectory() as tmp:
        for e in course.exercises:
            answers = [reference(e.id).read_text()]
            answers += [p.read_text() for p in sorted((WRONG / e.id).glob("*.py"))]
            independent = [p.read_text() for p in sorted((INDEPENDENT / e.id).glob("*.py"))]
            keep = functions_of(e.id)
            copies = [(a, disguise(a, keep, seed=i)) for i, a in enumerate(answers + independent)]
            honest = list(combinations([answers[0], *independent], 2)) if independent else []
            kinds["copies"] += pair_scores(course, e.id, copies, Path(tmp))
            kinds["independent"] += pair_scores(course, e.id, honest, Path(tmp))
            kinds["reference ~ wrong answer"] += pair_scores(
                course, e.id, [(answers[0], w) for w in answers[1:]], Path(tmp))
    for kind, v in kinds.items():
        print(f"{kind:26} {quantiles(v)}")
    print("\nshare at or above the threshold:")
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        mark = "  (default)" if t == DEFAULT_THRESHOLD else ""
        print(f"  {t:.1f}: " + "   ".join(f"{k} {100 * sum(x >= t for x in v) / max(len(v), 1):5.1f}%"
                                       for k, v in kinds.items()) + mark)


if __name__ == "__main__":
    main()
