"""Copied work found before certifying: every pair of students compared per exercise with copydetect.

copydetect (winnowing, Schleimer, Wilkerson and Aiken, SIGMOD 2003) tokenises Python with pygments
and replaces every name by one letter and every string by another, and drops comments and
whitespace, so renaming variables, rewording comments and reformatting change nothing it sees;
reordering functions only breaks the few matches that span a function boundary. A pair's score on
an exercise is the share of one student's own code (the larger share of the two, so that padding a
copy with extra code does not hide it) that is covered by runs of at least ``NOISE`` filtered
characters found in the other's. The course's stub and the statement's code blocks are boilerplate:
their fingerprints are removed first, so that shared scaffolding counts for nothing.

Submissions are read through the sandbox's staging (a folder or a .zip; links out, zip bombs and
oversized files refused), never imported. An exercise is judged only when both students wrote at
least ``MIN_CHARS`` filtered characters of their own: below that, independent answers to a
one-line exercise cannot help looking alike.
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from grader.course.discover import Course, Exercise
from grader.errors import GraderError
from grader.sandbox.staging import stage

NOISE = 25  # copydetect's default noise threshold: a match shorter than this is never counted
GUARANTEE = 25  # copydetect's default: window 1, every k-gram kept, so scores never depend on hashing
MIN_CHARS = 150  # filtered characters of one's own code for an exercise to be judged (README)
# benchmarks/similarity.py on the course's answers (README "Certificates"): disguised copies (renamed,
# reordered, comments rewritten) score 0.68 to 1.00 (354 judged pairs, 5th percentile 0.77), answers
# written independently 0.00 to 0.30 (9 pairs); 0.5 leaves a margin of about 0.2 on either side.
DEFAULT_THRESHOLD = 0.5
FENCE = re.compile(r"^```(?:python|py)[ \t]*\n(.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Match:
    """Two students on one exercise: each one's share of own code found in the other's."""

    exercise: str
    a: str
    b: str
    share_a: float
    share_b: float
    chars_a: int  # filtered characters of own code (boilerplate removed)
    chars_b: int
    regions_a: tuple[tuple[int, int], ...] = field(default=(), repr=False)  # matched spans of a's code
    regions_b: tuple[tuple[int, int], ...] = field(default=(), repr=False)

    @property
    def score(self) -> float:
        return max(self.share_a, self.share_b)

    @property
    def judged(self) -> bool:
        return min(self.chars_a, self.chars_b) >= MIN_CHARS


@dataclass(frozen=True)
class Screen:
    """Every pair compared, the pairs above the threshold, and who is held until cleared."""

    threshold: float
    exercises: tuple[str, ...]
    students: tuple[str, ...]
    matches: tuple[Match, ...]  # every pair that both wrote an exercise, best first
    code: dict = field(default_factory=dict, repr=False)  # (student, exercise) -> the code compared
    cleared: tuple[frozenset, ...] = ()
    unreadable: dict = field(default_factory=dict)  # student -> why the submission could not be read

    def flagged(self) -> tuple[Match, ...]:
        return tuple(m for m in self.matches if m.judged and m.score >= self.threshold)

    def is_cleared(self, m: Match) -> bool:
        return any({m.a, m.b} <= group for group in self.cleared)

    def held(self) -> dict[str, str]:
        """Students in a flagged pair that was not cleared, with the reason (their best match)."""
        out: dict[str, str] = {}
        for m in self.flagged():
            if self.is_cleared(m):
                continue
            for me, other in ((m.a, m.b), (m.b, m.a)):
                out.setdefault(me, f"held: similar to {other} in {m.exercise} ({100 * m.score:.0f}% ≥ "
                                   f"{100 * self.threshold:.0f}%); clear with --clear {m.a},{m.b}")
        return out


def copydetect_api():
    try:
        from copydetect import CodeFingerprint, compare_files
        from copydetect.utils import get_token_coverage
    except ImportError:
        raise GraderError("similarity screening needs copydetect: pip install 'grader[certify]'") from None
    return CodeFingerprint, compare_files, get_token_coverage


def boilerplate(exercise: Exercise) -> list[str]:
    """The code every student is given: the stub and the statement's Python code blocks."""
    texts = [exercise.stub.read_text(encoding="utf-8", errors="replace")]
    statement = exercise.path / "README.md"
    if statement.is_file():
        texts += FENCE.findall(statement.read_text(encoding="utf-8", errors="replace"))
    return [t for t in texts if t.strip()]


class _Fingerprints:
    """copydetect fingerprints of one exercise's code, with the boilerplate's removed."""

    def __init__(self, exercise: Exercise):
        self.CodeFingerprint, self.compare, self.coverage = copydetect_api()
        self.boiler: set = set()
        for text in boilerplate(exercise):
            self.boiler |= self._print(text).hashes

    def _print(self, text: str):
        return self.CodeFingerprint(f"{id(text)}.py", NOISE, GUARANTEE - NOISE + 1, fp=io.StringIO(text))

    def of(self, text: str):
        # The boilerplate is removed here rather than by copydetect's own option, which drops
        # every k-gram a file repeats as well (numpy's intersect1d with assume_unique on a list
        # with repeats): a student's own repeated code would count as scaffolding.
        fp = self._print(text)
        for h in fp.hashes & self.boiler:
            del fp.hash_idx[h]
        fp.hashes -= self.boiler
        fp.token_coverage = self.coverage(fp.hash_idx, fp.k, len(fp.filtered_code))
        return fp


def read_code(source: Path, exercise_ids: list[str], scratch: Path) -> tuple[dict[str, str], str | None]:
    """Each exercise's Python code in a submission, read from a staged copy: ``<id>/<id>.py`` first."""
    staged = stage(source, exercise_ids, scratch)
    if staged.error:
        return {}, staged.error
    code = {}
    for ex in staged.found:
        folder = staged.root / ex
        files = [folder / f"{ex}.py", *sorted(p for p in folder.rglob("*.py") if p.name != f"{ex}.py")]
        code[ex] = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files if p.is_file())
    return code, None


def _regions(slices) -> tuple[tuple[int, int], ...]:
    if len(slices) != 2 or len(slices[0]) == 0:
        return ()
    return tuple((int(s), int(e)) for s, e in zip(slices[0], slices[1]))


def screen(*, course: Course, submissions: dict[str, Path], exercise_ids: list[str] | None = None,
           threshold: float = DEFAULT_THRESHOLD, cleared: tuple[frozenset, ...] = ()) -> Screen:
    """Compare every pair of ``submissions`` (student -> folder or .zip) on each exercise."""
    if not 0.0 < threshold <= 1.0:
        raise GraderError(f"invalid similarity threshold {threshold:g} (a share from 0 to 1, e.g. 0.5)")
    exercises = course.select(exercise_ids)
    ids = [e.id for e in exercises]
    code: dict[tuple[str, str], str] = {}
    unreadable: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="grade-similar-") as tmp:
        for i, (student, path) in enumerate(sorted(submissions.items())):
            found, error = read_code(path, ids, Path(tmp) / str(i))
            if error:
                unreadable[student] = error
            for ex, text in found.items():
                code[(student, ex)] = text
    matches: list[Match] = []
    for exercise in exercises:
        stub = exercise.stub.read_text(encoding="utf-8", errors="replace").strip()
        fingerprints = _Fingerprints(exercise)
        prints = {s: fingerprints.of(text) for (s, ex), text in sorted(code.items())
                  if ex == exercise.id and text.strip() != stub}
        for a, b in combinations(sorted(prints), 2):
            _, (share_a, share_b), (slices_a, slices_b) = fingerprints.compare(prints[a], prints[b])
            matches.append(Match(exercise.id, a, b, float(share_a), float(share_b),
                                 int(prints[a].token_coverage), int(prints[b].token_coverage),
                                 _regions(slices_a), _regions(slices_b)))
    matches.sort(key=lambda m: (not m.judged, -m.score, m.exercise, m.a, m.b))
    students = tuple(sorted(submissions))
    return Screen(threshold, tuple(ids), students, tuple(matches), code, _expand(cleared, students), unreadable)


def parse_clear(values: list[str] | None) -> tuple[frozenset, ...]:
    """``--clear`` values: ``alice,bob`` clears every pair among those students; a file holds such lines.

    A single name clears that student in every pair. In a file, ``#`` starts a comment.
    """
    groups = []
    for value in values or ():
        path = Path(value)
        lines = [value]
        if "," not in value and path.is_file():
            lines = [line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()]
        for line in lines:
            names = frozenset(n.strip() for n in re.split(r"[,\s]+", line) if n.strip())
            if names:
                groups.append(names)
    return tuple(groups)


def _expand(groups: tuple[frozenset, ...], students: tuple[str, ...]) -> tuple[frozenset, ...]:
    """A single name stands for that student paired with everyone."""
    return tuple(g if len(g) > 1 else g | frozenset(students) for g in groups)
