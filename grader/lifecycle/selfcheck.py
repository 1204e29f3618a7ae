"""``grade selfcheck``: prove a course is sound before students see it.

For each exercise: the statement and metadata are complete, the stub documents every function of
``exercise.toml`` with the reference answer's signature, every check carries points, no
``TODO(author)`` marker is left, the reference answer earns full marks (timing included, with a
margin under each budget) and the stub earns zero. Then mutants of the reference answer
(:mod:`grader.mutate`) are graded like submissions: the share the checks catch is the exercise's
mutation score, and the mutants that survive name what no check looks at.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from grader.course.discover import Course, Exercise
from grader.errors import GraderError
from grader.grading.pool import GraderSpec, Job, LocalBackend, Outcome
from grader.grading.results import ExerciseResult, report_from_dict
from grader.lifecycle import mutation

MARKER = "TODO(author)"
# What every statement holds: (what, pattern, searched in) — see docs/authoring.md.
STATEMENT_PARTS = (("a '# Title' first line", re.compile(r"\A\s*# \S"), "text"),
                   ("a '## Contract' section", re.compile(r"^##+ .*contract", re.I | re.M), "text"),
                   ("a '## Pitfalls' section", re.compile(r"^##+ .*(pitfall|mistake)", re.I | re.M), "text"),
                   ("a worked example", re.compile(r"example", re.I), "text"))
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".json"}


@dataclass(frozen=True)
class ExerciseSoundness:
    id: str
    problems: tuple[str, ...]  # any one makes the course unsound
    notes: tuple[str, ...] = ()  # worth knowing, not wrong (a CUDA-only check skipped on a CPU machine)
    mutation: mutation.Mutation | None = None

    @property
    def sound(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class SelfCheck:
    exercises: tuple[ExerciseSoundness, ...]
    min_mutation_score: float | None
    duration_s: float

    @property
    def below_threshold(self) -> tuple[str, ...]:
        if self.min_mutation_score is None:
            return ()
        return tuple(e.id for e in self.exercises if e.mutation and e.mutation.score < self.min_mutation_score)

    @property
    def sound(self) -> bool:
        return all(e.sound for e in self.exercises) and not self.below_threshold


# Static checks --------------------------------------------------------------------------------

def _parse(path: Path) -> tuple[ast.Module | None, str | None]:
    try:
        return ast.parse(path.read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return None, f"{path.name} is missing"
    except (SyntaxError, UnicodeDecodeError, OSError) as exc:
        return None, f"{path.name} cannot be parsed: {exc}"


def _defs(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def signature(fn: ast.FunctionDef) -> str:
    return f"{fn.name}({ast.unparse(fn.args)})" + (f" -> {ast.unparse(fn.returns)}" if fn.returns else "")


def statement_problems(exercise: Exercise) -> list[str]:
    path = exercise.path / "README.md"
    if not path.is_file():
        return ["README.md (the statement) is missing"]
    text = path.read_text(encoding="utf-8", errors="replace")
    return [f"README.md lacks {what}" for what, pattern, _ in STATEMENT_PARTS if not pattern.search(text)]


def metadata_problems(exercise: Exercise) -> list[str]:
    problems = [] if exercise.summary.strip() else ["exercise.toml has no summary"]
    if exercise.weight is None:
        problems.append("exercise.toml has no weight (the points its correctness checks share)")
    for i, table in enumerate(exercise.timing):
        if not isinstance(table.get("points"), (int, float)) or table["points"] <= 0:
            problems.append(f"[[timing]] table {i + 1} of exercise.toml has no positive points")
    return problems


def api_problems(exercise: Exercise, solution: Path) -> list[str]:
    """The stub documents every function of the toml; the solution defines each with the same signature."""
    stub_tree, error = _parse(exercise.stub)
    if stub_tree is None:
        return [f"the stub {error}"]
    problems = [] if ast.get_docstring(stub_tree) else [f"the stub {exercise.stub.name} has no module docstring"]
    stub = _defs(stub_tree)
    sol_tree, error = _parse(solution)
    sol = _defs(sol_tree) if sol_tree else {}
    if sol_tree is None:
        problems.append(f"the reference answer solutions/{exercise.id}/{error}")
    for name in exercise.functions:
        if name not in stub:
            problems.append(f"the stub does not define {name}(), listed in exercise.toml")
            continue
        doc = ast.get_docstring(stub[name]) or ""
        params = [a for a in stub[name].args.posonlyargs + stub[name].args.args + stub[name].args.kwonlyargs
                  if a.arg not in ("self", "cls")]
        missing = [s for s in (("Args:",) if params else ()) + ("Returns:",) if s not in doc]
        if not doc:
            problems.append(f"the stub's {name}() has no docstring")
        elif missing:
            problems.append(f"the stub's {name}() docstring has no {' or '.join(missing)} section")
        if sol_tree is not None:
            if name not in sol:
                problems.append(f"the reference answer does not define {name}()")
            elif signature(sol[name]) != signature(stub[name]):
                problems.append(f"signatures differ: stub {signature(stub[name])}, solution {signature(sol[name])}")
    return problems


def marker_problems(exercise: Exercise, solution_dir: Path) -> list[str]:
    problems = []
    for folder in (exercise.path, solution_dir):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.suffix not in TEXT_SUFFIXES or "__pycache__" in path.parts or not path.is_file():
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if MARKER in line:
                    problems.append(f"{MARKER} left in {path.relative_to(folder.parent.parent)}:{n}")
                    break
    return problems


def check_problems(infos: tuple, collect_error: str | None) -> list[str]:
    if collect_error:
        return [f"the checks cannot be collected: {collect_error}"]
    problems = [f"check {c.name} ({c.file}) has no @check(points=...) marker" for c in infos if not c.marked]
    if not any(not c.hidden for c in infos):
        problems.append("no public checks (test_public*.py)")
    if not any(c.hidden for c in infos):
        problems.append("no hidden checks (test_hidden*.py)")
    return problems


# Grading checks -------------------------------------------------------------------------------

def solution_problems(result: ExerciseResult, margin: float) -> tuple[list[str], list[str]]:
    """Problems and notes from the reference answer's report: every check that ran must pass."""
    if result.error:
        return [f"the reference answer cannot be graded: {result.error}"], []
    problems, notes = [], []
    if not result.checks:
        problems.append("no checks ran")
    for c in result.checks:
        if c.max_score <= 0 and c.status != "skipped":  # a check skipped by request is left out of the score
            problems.append(f"check {c.name} is worth no points")
        if c.status == "skipped":
            notes.append(f"{c.name} skipped for the reference answer: {c.message}")
        elif c.status != "passed":
            problems.append(f"the reference answer fails {c.name}: {c.message}")
        elif c.kind == "timing" and c.timing and c.timing.get("ratio") is not None and c.timing.get("budget"):
            ratio, budget = float(c.timing["ratio"]), float(c.timing["budget"])
            if ratio > margin * budget:
                problems.append(f"timing {c.name}: the reference answer's ratio {ratio:.2f}× is above "
                                f"{margin:g} × its budget {budget:g}×, too close to fail by chance")
    return problems, notes


def stub_problems(result: ExerciseResult) -> list[str]:
    passed = [c.name for c in result.checks if c.status == "passed"]
    if result.score > 0 or passed:
        return [f"the stub earns {result.score:g} points (passes {', '.join(passed)})"]
    return []


# The run ----------------------------------------------------------------------------------------

def record_times(course: Course, chosen, inventory, call_times: dict, answers: dict, device: str,
                 force: bool) -> list[str]:
    """Write ``reference_times.toml`` of each exercise whose answer passed and whose file is missing or
    out of date (every one with ``force``); the ids written."""
    from grader.course import reference
    from grader.outputs.files import atomic_write

    written = []
    for e in chosen:
        result = answers[e.id]
        if result.error or any(c.status != "passed" for c in result.checks if c.kind == "correctness"):
            continue  # times of a failing answer say nothing
        if not force and reference.current(e, device):
            continue
        files = {c.name: c.file for c in inventory.checks.get(e.id, ())}
        times: dict = {}
        for (exercise, check), seconds in call_times.items():
            if exercise == e.id and check in files:
                times.setdefault(files[check], {})[check] = seconds
        existing = reference.load_all(e)
        existing[device.split(":")[0]] = times
        atomic_write(e.path / reference.FILE, reference.text(e, existing))
        written.append(e.id)
    return written


def run_selfcheck(*, course_dir: Path | None, exercises: list[str] | None = None, max_mutants: int = 40,
                  min_mutation_score: float | None = None, timing: bool | None = None, timing_margin: float = 0.8,
                  device: str | None = None, progress=lambda text: None, record: str = "never",
                  workers: int | None = None) -> SelfCheck:
    """Check the course (or some exercises) and return what was found; never raises for an unsound course.

    The reference answers, the stubs and the mutants are graded by ``workers`` trusted processes at
    once (default: the number of cores), each with a core of its own while timing is on.
    ``record`` says when to write the reference answers' call times (``reference_times.toml``):
    ``never``, ``stale`` (missing or out of date) or ``always``.
    """
    from grader.grading import config
    from grader.course.discover import find_course, load_course
    from grader.grading.inventory import collect

    if not 0 < timing_margin <= 1:
        raise GraderError(f"invalid --timing-margin {timing_margin!r} (a fraction in (0, 1])")
    t0 = time.monotonic()
    course = load_course(find_course(course_dir or Path.cwd()))
    solutions = course.root / "solutions"
    if course.settings.get("release") or not solutions.is_dir():
        raise GraderError(f"{course.root} has no solutions/: selfcheck runs on the instructor's course, not a release")
    settings = config.resolve(course=course.root, course_settings=course.settings, submission=solutions,
                              exercises=exercises, device=device, timing=timing)
    chosen = course.select(list(settings.exercises))
    workers = max(1, workers or len(os.sched_getaffinity(0)))
    progress(f"selfcheck of {len(chosen)} exercise(s) on {settings.device}, {workers} process(es)")
    problems: dict[str, list[str]] = {e.id: [] for e in chosen}
    notes: dict[str, list[str]] = {e.id: [] for e in chosen}
    inventory = collect(course, chosen)
    for e in chosen:
        problems[e.id] += statement_problems(e) + metadata_problems(e) + \
            api_problems(e, solutions / e.id / f"{e.id}.py") + marker_problems(e, solutions / e.id) + \
            check_problems(inventory.checks.get(e.id, ()), inventory.errors.get(e.id))

    progress("grading the reference answers" + (" (timing on)" if settings.timing else ""))
    # The exercises with the most timing tables first, dealt out in turn: each process gets its share.
    ordered = sorted(chosen, key=lambda e: -len(e.timing))
    groups = [tuple(e.id for e in ordered[i::workers]) for i in range(workers) if ordered[i::workers]]
    jobs = [Job(f"solutions-{i}", str(solutions), only=g, attempt_all=True) for i, g in enumerate(groups)]
    answers: dict[str, ExerciseResult] = {}
    call_times: dict[tuple[str, str], float] = {}
    for outcome in _grade(course, settings, jobs, workers):
        for ex in outcome.report.exercises:
            answers[ex.id] = ex
        call_times.update({(e, c): s for e, c, s in outcome.call_times})
    written = [] if record == "never" else record_times(course, chosen, inventory, call_times, answers,
                                                          settings.device, force=record == "always")
    if written:
        progress(f"recorded the reference answers' call times of {len(written)} exercise(s)")

    # Stubs and mutants, timing off: a mutant may loop for ever, so each call gets at most ten times
    # the reference answer's slowest check (the reference times shorten that further).
    slowest = max((c.duration_s for ex in answers.values() for c in ex.checks if c.kind == "correctness"),
                  default=0.0)
    calm = replace(settings, timing=False, limits=replace(
        settings.limits, call_seconds=min(settings.limits.call_seconds, max(10.0, 10 * slowest))))
    mutable = []
    for e in chosen:
        found, seen = solution_problems(answers[e.id], timing_margin)
        problems[e.id] += found
        notes[e.id] += seen
        if not found and max_mutants > 0 and (solutions / e.id / f"{e.id}.py").is_file():
            mutable.append(e)
    work = Path(tempfile.mkdtemp(prefix="grade-mutants-"))
    try:
        prepared = {e.id: mutation.prepare(course, e, max_mutants, work) for e in mutable}
        jobs = [Job("stubs", str(course.root / "exercises"), only=tuple(e.id for e in chosen), attempt_all=True)]
        jobs += [Job(f"{e}#{k}", str(folder), only=(e,), attempt_all=True, quick=True)
                 for e, (_, chosen_mutants) in prepared.items() for k, (_, folder) in enumerate(chosen_mutants)]
        progress(f"grading the stubs and {len(jobs) - 1} mutant(s) of {len(prepared)} exercise(s)")
        results = {o.student: o.report for o in _grade(course, calm, jobs, workers)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for e in chosen:
        problems[e.id] += stub_problems(results["stubs"].exercise(e.id))
    mutations: dict[str, mutation.Mutation] = {}
    for e in mutable:
        found, chosen_mutants = prepared[e.id]
        required = mutation.must_pass(answers[e.id])
        mutations[e.id] = m = mutation.tally(found, [
            (description, *mutation.verdict(results[f"{e.id}#{k}"].exercise(e.id), required, e.id))
            for k, (description, _) in enumerate(chosen_mutants)])
        progress(f"  {e.id}: {m.killed}/{m.tried} killed ({m.score:.0f}%)"
                 + (f", {m.killed_at_import} at import" if m.killed_at_import else ""))
    return SelfCheck(tuple(ExerciseSoundness(e.id, tuple(problems[e.id]), tuple(notes[e.id]), mutations.get(e.id))
                           for e in chosen), min_mutation_score, round(time.monotonic() - t0, 1))


def _grade(course: Course, settings, jobs: list[Job], workers: int) -> list[Outcome]:
    """Grade ``jobs`` in trusted processes (a core each with timing on); every one must be graded."""
    outcomes: list[Outcome] = []
    pool = LocalBackend(GraderSpec(course.root, settings, pin=settings.timing), workers=min(workers, len(jobs)))
    pool.run(jobs, outcomes.append)
    failed = [o for o in outcomes if o.report is None]
    if failed or len(outcomes) != len(jobs):
        why = failed[0].error if failed else "a grading process stopped"
        raise GraderError(f"selfcheck could not grade {failed[0].student if failed else 'every job'}: {why}")
    return [replace(o, report=report_from_dict(o.report)) for o in outcomes]


# Writers -----------------------------------------------------------------------------------------

def write_console(result: SelfCheck, console, show_survivors: int = 10) -> None:
    from rich.text import Text

    for e in result.exercises:
        m = e.mutation
        score = f"  mutants {m.killed}/{m.tried} killed ({m.score:.0f}%)" if m else ""
        style = "green" if e.sound and e.id not in result.below_threshold else "red"
        console.print(Text.assemble(("✓ " if e.sound else "✗ ", style), (e.id, "bold"), score))
        for p in e.problems:
            console.print(Text(f"    problem: {p}", style="red"))
        for n in e.notes:
            console.print(Text(f"    note: {n}", style="dim"))
        if m and m.killed_at_import:
            console.print(Text(f"    {m.killed_at_import} mutant(s) failed at import (counted as killed)", style="dim"))
        if m and m.survivors:
            console.print(Text(f"    survivors ({len(m.survivors)}): no check fails for", style="yellow"))
            for s in m.survivors[:show_survivors]:
                console.print(Text(f"      {s}"))
            if len(m.survivors) > show_survivors:
                console.print(Text(f"      ... and {len(m.survivors) - show_survivors} more"))
    unsound = [e.id for e in result.exercises if not e.sound]
    tried = sum(e.mutation.tried for e in result.exercises if e.mutation)
    killed = sum(e.mutation.killed for e in result.exercises if e.mutation)
    overall = f"; mutation score {100 * killed / tried:.0f}% ({killed}/{tried})" if tried else ""
    console.print()
    if result.sound:
        console.print(Text(f"sound: {len(result.exercises)} exercise(s){overall}, in {result.duration_s:.0f} s",
                           style="bold green"))
        return
    why = []
    if unsound:
        why.append(f"unsound: {', '.join(unsound)}")
    if result.below_threshold:
        why.append(f"mutation score under {result.min_mutation_score:g}%: {', '.join(result.below_threshold)}")
    console.print(Text("NOT sound — " + "; ".join(why) + overall, style="bold red"))


def markdown(result: SelfCheck) -> str:
    """A table for a CI step summary: one row per exercise, problems and survivors below."""
    lines = ["### grade selfcheck", "", f"**{'sound' if result.sound else 'NOT sound'}** "
             f"({len(result.exercises)} exercises, {result.duration_s:.0f} s)", "",
             "| exercise | sound | mutants killed | survivors |", "|---|---|---:|---:|"]
    details = []
    for e in result.exercises:
        m = e.mutation
        lines.append(f"| `{e.id}` | {'✅' if e.sound else '❌'} | "
                     f"{f'{m.killed}/{m.tried} ({m.score:.0f}%)' if m else '—'} | {len(m.survivors) if m else '—'} |")
        details += [f"- `{e.id}` problem: {p}" for p in e.problems]
        details += [f"- `{e.id}` survivor: {s}" for s in (m.survivors if m else ())]
    if details:
        lines += ["", "<details><summary>problems and surviving mutants</summary>", "",
                  *(d.replace("|", "\\|") for d in details), "", "</details>"]
    return "\n".join(lines) + "\n"
