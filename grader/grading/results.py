"""Results as plain frozen dataclasses; report writers render them, nothing here renders."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SCHEMA = "grade-report/1"
STATUSES = ("passed", "failed", "error", "timeout", "skipped")
KINDS = ("correctness", "timing", "memory")
NOT_ATTEMPTED = "not attempted: the file is missing or still the stub"
NOT_ATTEMPTED_KEY = "exercise.not_attempted"


@dataclass(frozen=True)
class CheckResult:
    name: str
    kind: str
    hidden: bool
    status: str
    score: float
    max_score: float
    message: str = ""
    duration_s: float = 0.0
    timing: dict | None = None
    memory: dict | None = None
    # The catalogue key ``message`` was made from (grader/messages.py) and its fields; None for the
    # submission's own words (an assertion's text, an exception it raised), which are never translated.
    message_key: str | None = None
    message_args: dict | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class ExerciseResult:
    id: str
    title: str
    score: float
    max_score: float
    error: str | None
    checks: tuple[CheckResult, ...] = ()
    track: str = ""
    attempted: bool = True  # False: the file is missing or still the stub, and nothing ran
    # The catalogue key of ``problem`` and its fields, when the grader wrote it (see CheckResult).
    message_key: str | None = None
    message_args: dict | None = None

    @property
    def problem(self) -> str | None:
        """Why the exercise has no checks to show: its error, or that it was not attempted."""
        return self.error or (None if self.attempted else NOT_ATTEMPTED)


@dataclass(frozen=True)
class Report:
    submission: str
    device: str
    grader_version: str
    score: float
    max_score: float
    started_at: str
    duration_s: float
    exercises: tuple[ExerciseResult, ...] = ()
    isolation: tuple[str, ...] = field(default=())

    def exercise(self, exercise_id: str) -> ExerciseResult:
        return next(e for e in self.exercises if e.id == exercise_id)

    def to_dict(self) -> dict:
        d = {"schema": SCHEMA, **asdict(self)}
        d["isolation"] = list(self.isolation)
        for e in d["exercises"]:
            e["checks"] = list(e["checks"])
            _keep_args_of_keys(e)
            for c in e["checks"]:
                if c.get("memory") is None:
                    c.pop("memory", None)
                _keep_args_of_keys(c)
        d["exercises"] = list(d["exercises"])
        return d


def _keep_args_of_keys(d: dict) -> None:
    """``message_key`` is always there (null: the submission's own words); its fields only with a key."""
    if d.get("message_key") is None:
        d.pop("message_args", None)
    else:
        d["message_args"] = d.get("message_args") or {}


def report_from_dict(d: dict) -> Report:
    """Rebuild a Report from its JSON form (for gradebooks and summaries built from saved reports)."""
    if d.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} document")
    exercises = tuple(
        ExerciseResult(id=e["id"], title=e["title"], score=e["score"], max_score=e["max_score"],
                       error=e.get("error"), track=str(e.get("track", "")), attempted=bool(e.get("attempted", True)),
                       message_key=e.get("message_key"), message_args=e.get("message_args"),
                       checks=tuple(CheckResult(**{k: c.get(k) for k in CheckResult.__dataclass_fields__
                                                   if k in c}) for c in e["checks"]))
        for e in d["exercises"])
    return Report(submission=d["submission"], device=d["device"], grader_version=d["grader_version"],
                  score=d["score"], max_score=d["max_score"], started_at=d["started_at"],
                  duration_s=d["duration_s"], exercises=exercises, isolation=tuple(d.get("isolation", ())))


@dataclass(frozen=True)
class TrackTotal:
    """One track's share of a report: the points its exercises earned of the points they offer."""

    track: str
    score: float
    max_score: float
    exercises: tuple[str, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


def track_totals(report: Report) -> tuple[TrackTotal, ...]:
    """Per track, in the order the report first names it; exercises without a track are left out."""
    found: dict[str, list[ExerciseResult]] = {}
    for e in report.exercises:
        if e.track:
            found.setdefault(e.track, []).append(e)
    return tuple(TrackTotal(track, sum(e.score for e in exs), sum(e.max_score for e in exs),
                            tuple(e.id for e in exs)) for track, exs in found.items())


def correct(e: ExerciseResult) -> bool:
    """Every correctness check that ran passed, at least one ran, and nothing stopped the exercise.

    What a certificate's required exercise asks for: a working answer, whatever its speed (the
    budgets' points count towards the track's pass mark, not here).
    """
    ran = [c for c in e.checks if c.kind == "correctness" and c.status != "skipped"]
    return e.attempted and e.error is None and bool(ran) and all(c.status == "passed" for c in ran)
