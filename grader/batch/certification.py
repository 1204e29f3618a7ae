"""``grade batch --certify``: the rules applied to a graded class, after a similarity screen and the revocations.

In the trusted parent, after every worker is gone: the class is screened for copied work (students
in a pair above the threshold are held until cleared), the revocation list is read (a revoked
student is not certified again until reinstated), and each remaining student's report is judged by
the course's rules. Certificates are issued to the students the rules certify and withdrawn from
everyone else, so the certificates folder always says what the latest run decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from grader.batch.roster import Student
from grader.certify.certificate import load_private_key
from grader.course.discover import Course
from grader.errors import GraderError
from grader.outputs.gradebook import Row

REVOCATIONS = "revocations.json"  # in the output folder, where grade revoke writes by default


@dataclass(frozen=True)
class Certify:
    """How to certify: the signing key, the rules' override and the similarity screen's settings."""

    key: Path
    pass_mark: float | None = None  # replaces every track's pass mark (--pass-mark)
    similarity_threshold: float | None = None  # None: the screen's default
    clear: tuple[str, ...] = ()  # --clear values: "alice,bob" groups, single names, or files of them
    revocations: Path | None = None  # None: <out>/revocations.json when it exists


@dataclass(frozen=True)
class Verdict:
    """What the run decided for one student, as one line for the gradebook and the class page."""

    student: str
    status: str  # "issued", "kept", "held", "revoked", "none", "not graded"
    line: str
    certified: tuple[str, ...] = ()
    course: bool = False


def check(certify: Certify, course: Course) -> None:
    """Fail before grading, not after, when certificates could not be issued."""
    from grader.certify.rules import load_rules
    from grader.certify.similarity import DEFAULT_THRESHOLD, copydetect_api
    from grader.certify.openbadges import jose_api

    threshold = certify.similarity_threshold if certify.similarity_threshold is not None else DEFAULT_THRESHOLD
    if not 0.0 < threshold <= 1.0:
        raise GraderError(f"invalid --similarity-threshold {threshold:g} (a share from 0 to 1, e.g. 0.5)")
    load_rules(course, certify.pass_mark)
    key = load_private_key(certify.key)
    copydetect_api()
    jose_api()
    if certify.revocations is not None:
        _revocations(certify, Path("."), key.public_key())


def _revocations(certify: Certify, out: Path, public_key):
    """The revocation list named by --revocations (which must be there and genuine), else OUT's if any."""
    from grader.certify import revocation

    if certify.revocations is not None:
        return revocation.load(certify.revocations, public_key)
    default = out / REVOCATIONS
    return revocation.load(default, public_key) if default.exists() else revocation.Revocations()


def certify_class(*, rows: list[Row], students: list[Student], course: Course, settings_doc: dict, out: Path,
                  certify: Certify, console: Console, lang: str = "en") -> dict[str, Verdict]:
    """Screen, decide, issue and withdraw; one Verdict per student."""
    from grader.certify import issuing, similarity, similarity_report
    from grader.certify.rules import decide, load_rules

    rules = load_rules(course, certify.pass_mark)
    key = load_private_key(certify.key)  # read here, in the trusted parent, after every worker is gone
    ids = list(settings_doc["exercises"])
    paths = {s.name: s.path for s in students}
    threshold = certify.similarity_threshold if certify.similarity_threshold is not None else similarity.DEFAULT_THRESHOLD
    groups = similarity.parse_clear(list(certify.clear))
    unknown = sorted({n for g in groups for n in g} - set(paths))
    if unknown:
        console.print(f"[yellow]--clear names no student of this class: {escape(', '.join(unknown))}[/yellow]")
    screen = similarity.screen(course=course, submissions=paths, exercise_ids=ids, threshold=threshold,
                               cleared=groups)
    page, _ = similarity_report.write_reports(screen, out, course.title)
    held = screen.held()
    flagged = screen.flagged()
    console.print(f"similarity: {len(flagged)} pair{'s' if len(flagged) != 1 else ''} at or above "
                  f"{100 * threshold:.0f}% ({sum(screen.is_cleared(m) for m in flagged)} cleared); "
                  f"{len(held)} student{'s' if len(held) != 1 else ''} held; see {page}")
    revoked = _revocations(certify, out, key.public_key())

    verdicts: dict[str, Verdict] = {}
    for row in rows:
        name = row.student
        if row.report is None:
            issuing.withdraw(out, name)
            verdicts[name] = Verdict(name, "not graded", "none: not graded")
            continue
        decision = decide(row.report, rules, name)
        barred = revoked.barred(name)
        if barred is not None:
            issuing.withdraw(out, name)
            verdicts[name] = Verdict(name, "revoked", f"revoked {barred.at[:10]}: {barred.reason}")
        elif name in held and decision.certified:
            issuing.withdraw(out, name)
            verdicts[name] = Verdict(name, "held", f"{held[name]} (would be {decision.reason})")
        elif not decision.certified:
            issuing.withdraw(out, name)
            verdicts[name] = Verdict(name, "none", decision.reason + (f"; also {held[name]}" if name in held else ""))
        else:
            _, kept = issuing.issue(decision=decision, report=row.report, course=course, rules=rules,
                                    submission=paths[name], private_key=key, out=out, exercise_ids=ids,
                                    timing=bool(settings_doc["timing"]), lang=lang)
            verdicts[name] = Verdict(name, "kept" if kept else "issued", decision.reason, decision.certified,
                                     decision.course)
    return verdicts


def print_verdicts(verdicts: dict[str, Verdict], out: Path, console: Console) -> None:
    issued = [v for v in verdicts.values() if v.status in ("issued", "kept")]
    course = sum(v.course for v in issued)
    console.print(f"certificates: {len(issued)} student{'s' if len(issued) != 1 else ''} certified "
                  f"({course} for the whole course) in {out / 'certificates'}/")
    for v in verdicts.values():
        if v.status in ("held", "revoked"):
            console.print(f"[yellow]  {escape(v.student)}: {escape(v.line)}[/yellow]")
