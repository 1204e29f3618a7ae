"""One student's certificate files, from a rules Decision: signed JSON, printable page, Open Badges 3.0.

``certificates/<student>.json`` (grade-certificate/2) names every track it certifies with its score,
whether the course certificate was earned, the rules' digest and what was graded; beside it
``<student>.html`` and ``openbadges/<student>/<track>.jwt`` (plus ``course.jwt`` for the course
certificate), each an OpenBadgeCredential signed as a VC-JWT. A batch run again on the same
reports and submissions keeps the files it issued before (same ids, same dates) instead of
minting new ones; anything that changes a verdict issues afresh.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

from grader import __version__
from grader.certify import openbadges
from grader.certify.certificate import (CertificateError, exercise_set_hash, render_html, sign, submission_hash,
                                        verify)
from grader.certify.rules import Decision, Rules
from grader.course.discover import Course
from grader.grading.results import Report
from grader.outputs.files import atomic_write

VOLATILE = ("id", "issued_at", "credentials")  # what a re-issue may change without a new verdict


def paths(out: Path, student: str) -> tuple[Path, Path, Path]:
    folder = out / "certificates"
    return folder / f"{student}.json", folder / f"{student}.html", folder / "openbadges" / student


def withdraw(out: Path, student: str) -> None:
    """Remove a student's certificate files (regraded below the rules, held, or revoked)."""
    cert, page, badges = paths(out, student)
    cert.unlink(missing_ok=True)
    page.unlink(missing_ok=True)
    shutil.rmtree(badges, ignore_errors=True)


def _payload(*, decision: Decision, report: Report, course: Course, rules: Rules, submission: Path,
             exercise_ids: list[str], timing: bool, public_key) -> dict:
    certified = [t for t in decision.tracks if t.track in decision.certified]
    percent = round(100.0 * report.score / report.max_score, 2) if report.max_score else 0.0
    return {
        "student": decision.student,
        "course": {"id": course.id, "title": course.title},
        "issuer": {"id": openbadges.issuer_id(rules.issuer, public_key), "name": rules.issuer.name},
        "tracks": [{"track": t.track, "title": rules.track(t.track).title, "score": t.score,
                    "max_score": t.max_score, "percent": t.percent, "pass_mark": t.pass_mark,
                    "required": list(t.required), "exercises": list(rules.track(t.track).exercises)}
                   for t in certified],
        "course_certificate": decision.course,
        "exercises": [{"id": e.id, "title": e.title, "track": e.track, "score": e.score, "max_score": e.max_score}
                      for e in report.exercises],
        "score": report.score, "max_score": report.max_score, "percent": percent,
        "rules_sha256": rules.digest(), "device": report.device, "timing": timing,
        "grader_version": report.grader_version or __version__,
        "exercise_set_sha256": exercise_set_hash(course, exercise_ids),
        "submission_sha256": submission_hash(submission),
    }


def _kept(cert: Path, badges: Path, payload: dict, public_key) -> dict | None:
    """The certificate issued before, if genuine, of the same verdict and with its badges present."""
    try:
        old = verify(json.loads(cert.read_text(encoding="utf-8")), public_key)
    except (OSError, ValueError, CertificateError):
        return None
    same = {k: v for k, v in old.items() if k not in VOLATILE} == payload
    if not same or not all((badges / f"{name}.jwt").is_file() for name in old.get("credentials", {})):
        return None
    return old


def issue(*, decision: Decision, report: Report, course: Course, rules: Rules, submission: Path, private_key,
          out: Path, exercise_ids: list[str], timing: bool, lang: str = "en") -> tuple[Path, bool]:
    """Write (or keep) the student's certificate files; (the JSON's path, whether it was kept)."""
    public_key = private_key.public_key()
    cert, page, badges = paths(out, decision.student)
    payload = _payload(decision=decision, report=report, course=course, rules=rules, submission=submission,
                       exercise_ids=exercise_ids, timing=timing, public_key=public_key)
    if _kept(cert, badges, payload, public_key) is not None:
        return cert, True
    issued = datetime.now(timezone.utc).replace(microsecond=0)
    names = list(decision.certified) + ([openbadges.COURSE] if decision.course else [])
    tokens = {}
    for name in names:
        if name == openbadges.COURSE:
            parts = [t for t in decision.tracks if t.track in rules.course]
            top = sum(t.max_score for t in parts)
            percent = round(100.0 * sum(t.score for t in parts) / top, 2) if top else 0.0
        else:
            percent = next(t.percent for t in decision.tracks if t.track == name)
        doc = openbadges.credential(rules=rules, course=course, name=name, student=decision.student,
                                    percent=percent, public_key=public_key,
                                    submission_sha256=payload["submission_sha256"], issued=issued)
        tokens[name] = (doc["id"], openbadges.sign(doc, private_key, openbadges.key_ref(rules.issuer, public_key)))
    full = {"id": f"urn:uuid:{uuid.uuid4()}", **payload, "issued_at": issued.isoformat().replace("+00:00", "Z"),
            "credentials": {name: cid for name, (cid, _) in tokens.items()}}
    document = sign(full, private_key)
    shutil.rmtree(badges, ignore_errors=True)
    for name, (_, token) in tokens.items():
        atomic_write(badges / f"{name}.jwt", token + "\n")
    atomic_write(cert, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    atomic_write(page, render_html(document, cert.name, lang))
    return cert, False
