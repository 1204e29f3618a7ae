"""What a certificate requires: per-track pass marks and required exercises, from ``[tool.grade.certificate]``.

A track is certified when the student earns at least its pass mark (a percentage of the points of
the track's exercises, budgets included) and every required exercise of the track is correct (each
of its correctness checks passed). A track is judged only when every one of its exercises was
graded: a batch run with ``-e`` on part of a track cannot certify it. The course certificate is
earned when every track that makes up the course is certified. With ``partial = false`` a student
short of the course certificate gets no certificate at all; otherwise one for the tracks passed.

Everything here is a pure function of the rules and a saved report, so a resumed batch decides
exactly what one uninterrupted run would have.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from grader.course.discover import Course
from grader.errors import GraderError
from grader.grading.results import Report, correct, track_totals

DEFAULT_PASS_MARK = 50.0
KEYS = {"issuer", "course", "partial", "pass_mark", "tracks"}
TRACK_KEYS = {"pass_mark", "required", "title", "description"}
ISSUER_KEYS = {"id", "name", "url", "email", "description"}


@dataclass(frozen=True)
class TrackRule:
    track: str
    title: str
    description: str
    pass_mark: float
    required: tuple[str, ...]
    exercises: tuple[str, ...]  # every exercise of the track in the course


@dataclass(frozen=True)
class Issuer:
    """Who issues the certificates (an Open Badges Profile); ``id`` None: the signing key's did:key."""

    name: str
    id: str | None = None
    url: str | None = None
    email: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Rules:
    tracks: tuple[TrackRule, ...]  # the certifiable tracks, in the course's order
    course: tuple[str, ...]  # the tracks that make up the course certificate
    partial: bool  # a student short of the course certificate still gets one for the tracks passed
    issuer: Issuer
    overridden: float | None = None  # --pass-mark, when it replaced every track's pass mark

    def track(self, name: str) -> TrackRule:
        return next(t for t in self.tracks if t.track == name)

    def digest(self) -> str:
        """sha256 of the rules as applied: a certificate names the rules it was judged by."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class TrackResult:
    track: str
    score: float
    max_score: float
    percent: float
    pass_mark: float
    required: tuple[str, ...]
    missing: tuple[str, ...]  # required exercises that are not correct
    assessed: bool  # every exercise of the track was graded
    passed: bool

    @property
    def reason(self) -> str:
        """Why the track is not certified ("" when it is)."""
        if self.passed:
            return ""
        if not self.assessed:
            return f"{self.track} not assessed: some of its exercises were not graded"
        why = []
        if self.percent + 1e-9 < self.pass_mark:
            why.append(f"{self.percent:.1f}% < {self.pass_mark:g}%")
        if self.missing:
            why.append(f"{', '.join(self.missing)} not correct")
        return f"{self.track}: {'; '.join(why)}"


@dataclass(frozen=True)
class Decision:
    """What the rules give one student: the tracks certified, and whether the course is."""

    student: str
    tracks: tuple[TrackResult, ...]
    certified: tuple[str, ...]
    course: bool

    @property
    def reason(self) -> str:
        """A line for the gradebook: what was certified, or why nothing was."""
        if self.course:
            return "course: " + ", ".join(self.certified)
        if self.certified:
            short = [t.reason for t in self.tracks if not t.passed and t.reason]
            return "tracks: " + ", ".join(self.certified) + (f" (not {'; '.join(short)})" if short else "")
        return "none: " + ("; ".join(t.reason for t in self.tracks if t.reason) or "no track certified")


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 100.0:
        raise GraderError(f"invalid pass_mark {value!r} in {where} (a percentage from 0 to 100)")
    return float(value)


def _names(value, what: str, where: str) -> tuple[str, ...]:
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise GraderError(f"invalid {what} {value!r} in {where} (a list of names)")
    return tuple(dict.fromkeys(value))


def _unknown(table: dict, known: set[str], where: str) -> None:
    extra = sorted(set(table) - known)
    if extra:
        raise GraderError(f"unknown key {extra[0]!r} in {where} (known: {', '.join(sorted(known))})")


def _issuer(value, course: Course, where: str) -> Issuer:
    if value is None:
        return Issuer(name=course.title)
    if not isinstance(value, dict):
        raise GraderError(f"invalid issuer {value!r} in {where} (a table: name, id, url, email, description)")
    _unknown(value, ISSUER_KEYS, f"{where}.issuer")
    for key, v in value.items():
        if not isinstance(v, str) or not v:
            raise GraderError(f"invalid issuer {key} {v!r} in {where}")
    if "id" in value and ":" not in value["id"]:
        raise GraderError(f"invalid issuer id {value['id']!r} in {where} (a URI, e.g. https://… or did:…)")
    return Issuer(name=value.get("name", course.title), id=value.get("id"), url=value.get("url"),
                  email=value.get("email"), description=value.get("description"))


def load_rules(course: Course, pass_mark: float | None = None) -> Rules:
    """The course's certification rules; ``pass_mark`` (``--pass-mark``) replaces every track's."""
    where = f"{course.root / 'pyproject.toml'} [tool.grade.certificate]"
    table = course.settings.get("certificate", {})
    if not isinstance(table, dict):
        raise GraderError(f"invalid {where}: not a table")
    _unknown(table, KEYS, where)
    by_track: dict[str, list[str]] = {}
    for e in course.exercises:
        by_track.setdefault(e.track, []).append(e.id)
    offered = [t for t in course.tracks if t in by_track]
    default = _number(table.get("pass_mark", DEFAULT_PASS_MARK), where)
    if pass_mark is not None:
        _number(pass_mark, "--pass-mark")
    per_track = table.get("tracks", {})
    if not isinstance(per_track, dict):
        raise GraderError(f"invalid tracks in {where} (a table per track)")
    rules = []
    for name, spec in per_track.items():
        if name not in by_track:
            raise GraderError(f"unknown track {name!r} in {where}.tracks (tracks with exercises: {', '.join(offered)})")
        if not isinstance(spec, dict):
            raise GraderError(f"invalid {where}.tracks.{name}: not a table")
        _unknown(spec, TRACK_KEYS, f"{where}.tracks.{name}")
    for name in offered:
        spec = per_track.get(name, {})
        here = f"{where}.tracks.{name}"
        required = _names(spec.get("required", []), "required", here)
        for r in required:
            if r not in by_track[name]:
                raise GraderError(f"required exercise {r!r} in {here} is not an exercise of track {name} "
                                  f"(its exercises: {', '.join(by_track[name])})")
        mark = pass_mark if pass_mark is not None else _number(spec.get("pass_mark", default), here)
        title = spec.get("title", name.replace("-", " ").replace("_", " ").capitalize())
        description = spec.get("description", f"The {title.lower()} track of {course.title}.")
        rules.append(TrackRule(name, str(title), str(description), mark, required, tuple(by_track[name])))
    course_tracks = _names(table.get("course", offered), "course", where)
    for name in course_tracks:
        if name not in by_track:
            raise GraderError(f"unknown track {name!r} in {where} course (tracks with exercises: {', '.join(offered)})")
    if not course_tracks:
        raise GraderError(f"empty course in {where}: name the tracks that make up the course certificate")
    partial = table.get("partial", True)
    if not isinstance(partial, bool):
        raise GraderError(f"invalid partial {partial!r} in {where} (true or false)")
    return Rules(tuple(rules), course_tracks, partial, _issuer(table.get("issuer"), course, where), pass_mark)


def decide(report: Report, rules: Rules, student: str) -> Decision:
    """Apply the rules to one student's report."""
    totals = {t.track: t for t in track_totals(report)}
    graded = {e.id: e for e in report.exercises}
    results = []
    for rule in rules.tracks:
        total = totals.get(rule.track)
        if total is None:
            continue  # not in this batch at all: nothing to say about it
        assessed = all(x in graded for x in rule.exercises)
        missing = tuple(r for r in rule.required if r not in graded or not correct(graded[r]))
        passed = assessed and total.max_score > 0 and total.percent + 1e-9 >= rule.pass_mark and not missing
        results.append(TrackResult(rule.track, total.score, total.max_score, round(total.percent, 2),
                                   rule.pass_mark, rule.required, missing, assessed, passed))
    passed = tuple(r.track for r in results if r.passed)
    course = all(t in passed for t in rules.course)
    certified = passed if (course or rules.partial) else ()
    return Decision(student, tuple(results), certified, course)


def criteria(rule: TrackRule) -> str:
    """The rule in words, for a certificate's Achievement."""
    text = (f"Earn at least {rule.pass_mark:g}% of the points of the {len(rule.exercises)} exercises of the "
            f"{rule.title} track ({', '.join(rule.exercises)}), graded by hidden checks against torch oracles")
    if rule.required:
        text += f", with every correctness check of {', '.join(rule.required)} passed"
    return text + "."
