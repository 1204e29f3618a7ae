"""Helpers for the certificate tests: disguised copies, a small two-track course, and a class to certify.

The class is built from the course's own answers: the reference solutions, disguised copies of them
(every local name and helper renamed, top-level functions in reverse order, docstrings and comments
rewritten, the layout redone by ``ast.unparse``), answers written independently
(tests/independent_answers) and wrong answers (tests/wrong_answers).
"""

from __future__ import annotations

import ast
import builtins
import shutil
import zipfile
from pathlib import Path

from conftest import ROOT
from grader.grading.results import CheckResult, ExerciseResult, Report

INDEPENDENT = ROOT / "tests" / "independent_answers"
WRONG = ROOT / "tests" / "wrong_answers"
# Three exercises per track; sigmoid, mse_loss and softmax are too short to judge for similarity.
EXERCISES = {"foundations": ["sigmoid", "mse_loss", "mlp_backward"],
             "large-models": ["softmax", "attention", "multihead_attention"]}
RULES = """
[tool.grade.certificate]
course = ["foundations", "large-models"]
partial = true
pass_mark = 60

[tool.grade.certificate.issuer]
name = "Test Academy"
url = "https://academy.example.org"

[tool.grade.certificate.tracks.foundations]
required = ["mlp_backward"]

[tool.grade.certificate.tracks.large-models]
pass_mark = 70
required = ["attention"]
"""


def disguise(source: str, keep: set[str], seed: int = 0) -> str:
    """A copy that renames every local name, parameter and helper (not the API in ``keep`` nor its
    parameters), reverses the top-level definitions, rewrites docstrings and adds comments."""
    tree = ast.parse(source)
    imported = {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
                if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    api_args = {a.arg for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in keep
                for a in n.args.args + n.args.kwonlyargs}
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    names -= keep | imported | api_args | set(dir(builtins)) | {"self", "cls"}
    words = ["val", "tmp", "my", "cur", "acc"]
    mapping = {n: f"{words[(i + seed) % len(words)]}_{n.strip('_')[::-1]}{i}" for i, n in enumerate(sorted(names))}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            node.id = mapping.get(node.id, node.id)
        elif isinstance(node, ast.arg):
            node.arg = mapping.get(node.arg, node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            node.name = mapping.get(node.name, node.name)
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                first.value.value = "My own implementation."
    head = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom, ast.Expr))]
    rest = [n for n in tree.body if n not in head]
    tree.body = head + rest[::-1]
    lines = []
    for line in ast.unparse(tree).splitlines():
        lines.append(line)
        if line.lstrip().startswith("return "):
            lines.append(" " * (len(line) - len(line.lstrip())) + "# and that is the answer")
    return "\n".join(lines) + "\n"


def functions_of(exercise: str) -> set[str]:
    import tomllib

    meta = tomllib.loads((ROOT / "exercises" / exercise / "exercise.toml").read_text())
    return set(meta["functions"]) | set(meta.get("provided", []))


def make_course(root: Path, rules: str = RULES, exercises: dict[str, list[str]] = EXERCISES) -> Path:
    """A course folder with ``exercises`` (track -> ids) and a [tool.grade.certificate] of ``rules``."""
    root.mkdir(parents=True)
    tracks = ", ".join(f'"{t}"' for t in exercises)
    (root / "pyproject.toml").write_text(
        '[tool.grade]\ncourse_id = "test-course"\ncourse_title = "Test Course"\n'
        f'tracks = [{tracks}]\ndevice = "cpu"\n' + rules)
    for ids in exercises.values():
        for ex in ids:
            shutil.copytree(ROOT / "exercises" / ex, root / "exercises" / ex,
                            ignore=shutil.ignore_patterns("__pycache__"))
    return root


TRACK = {ex: track for track, ids in EXERCISES.items() for ex in ids}
POINTS = {"sigmoid": 4, "mse_loss": 4, "mlp_backward": 12, "softmax": 6, "attention": 10, "multihead_attention": 11}


def synthetic_report(earned: dict[str, float], missing: tuple[str, ...] = (), student: str = "s") -> Report:
    """A report of every exercise of the small course: ``earned`` share of each one's points (default 0);
    an exercise earned in full passes its correctness check."""
    exercises = []
    for ex, points in POINTS.items():
        if ex in missing:
            continue
        share = earned.get(ex, 0.0)
        checks = (CheckResult("c", "correctness", False, "passed" if share == 1.0 else "failed", share * points, points),)
        exercises.append(ExerciseResult(ex, ex, share * points, points, None, checks, TRACK[ex], share > 0))
    return Report(student, "cpu", "0", sum(e.score for e in exercises), sum(e.max_score for e in exercises),
                  "2026-01-01T00:00:00+00:00", 1.0, tuple(exercises))


def put(student: Path, exercise: str, source: str | Path) -> None:
    target = student / exercise / f"{exercise}.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source if isinstance(source, str) else source.read_text())


def reference(exercise: str) -> Path:
    return ROOT / "solutions" / exercise / f"{exercise}.py"


def make_class(root: Path) -> Path:
    """ada (the reference), ben (ada disguised, as a .zip), cai (independent answers), dee (foundations
    only, independently), eve (large-models with a wrong attention)."""
    all_ids = [e for ids in EXERCISES.values() for e in ids]
    for ex in all_ids:
        put(root / "ada", ex, reference(ex))
    with zipfile.ZipFile(root / "ben.zip", "w") as z:
        for i, ex in enumerate(all_ids):
            z.writestr(f"homework/{ex}/{ex}.py", disguise(reference(ex).read_text(), functions_of(ex), seed=i))
    small = ["sigmoid", "mse_loss", "softmax"]  # too short to judge: everyone writes them alike
    for ex in small:
        put(root / "cai", ex, reference(ex))
    put(root / "cai", "mlp_backward", INDEPENDENT / "mlp_backward" / "layered_cache.py")
    put(root / "cai", "attention", INDEPENDENT / "attention" / "einsum_manual_softmax.py")
    put(root / "cai", "multihead_attention", INDEPENDENT / "multihead_attention" / "loop_over_heads.py")
    for ex in ("sigmoid", "mse_loss"):
        put(root / "dee", ex, reference(ex))
    put(root / "dee", "mlp_backward", INDEPENDENT / "mlp_backward" / "einsum_gradients.py")
    put(root / "eve", "softmax", reference("softmax"))
    put(root / "eve", "attention", WRONG / "attention" / "no_scaling.py")
    put(root / "eve", "multihead_attention", INDEPENDENT / "multihead_attention" / "einsum_heads.py")
    return root
