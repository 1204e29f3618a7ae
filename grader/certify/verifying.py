"""``grade verify``: a certificate (JSON) or an Open Badges 3.0 credential (VC-JWT), and the revocation list.

The format is told from the content, not the file name: a compact JWS is three base64url parts
joined by dots; anything else must be a grade-certificate JSON document.
"""

from __future__ import annotations

import re
from pathlib import Path

from grader.certify import openbadges, revocation
from grader.certify.certificate import (LEGACY_SCHEMA, CertificateError, document_ids, load_public_key,
                                        read_document, verify)

COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def _check_revoked(ids: list[str], revocations: Path | None, public_key) -> None:
    if revocations is None:
        return
    listed = revocation.load(revocations, public_key)
    for i in ids:
        entry = listed.revoked(i)
        if entry is not None:
            raise CertificateError(f"revoked on {entry.at[:10]}: {entry.reason} (the signature itself is genuine)")


def verify_any(path: Path, public_key_path: Path, revocations: Path | None = None) -> str:
    """A one-line summary of a genuine, unrevoked document; CertificateError saying what is wrong."""
    public_key = load_public_key(public_key_path)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CertificateError(f"malformed certificate: {exc}") from None
    if COMPACT_JWS.match(text):
        claims = openbadges.verify(text, public_key)
        _check_revoked([claims["id"]], revocations, public_key)
        subject = claims.get("credentialSubject", {})
        who = next((i.get("identityHash") for i in subject.get("identifier", []) if isinstance(i, dict)),
                   subject.get("id", "?"))
        result = next((r.get("value") for r in subject.get("result", []) if isinstance(r, dict)), None)
        return (f"[green]genuine[/green] Open Badges 3.0 credential: {who} earned "
                f"{subject.get('achievement', {}).get('name', '?')}"
                f"{f' with {result}%' if result else ''}, issued by {claims['issuer'].get('name', claims['iss'])} "
                f"on {claims.get('validFrom', '?')[:10]} ({claims['id']})")
    document = read_document(path)
    p = verify(document, public_key)
    _check_revoked(document_ids(document), revocations, public_key)
    if document["schema"] == LEGACY_SCHEMA:
        return (f"[green]genuine[/green]: {p['student']} passed {p['course']['title']} "
                f"({p['course']['id']}) with {p['score']:g}/{p['max_score']:g} ({p['percent']:g}%, "
                f"pass mark {p['pass_mark']:g}%) on {p['issued_at']}, grader {p['grader_version']}")
    tracks = ", ".join(f"{t['track']} {t['percent']:g}% (pass mark {t['pass_mark']:g}%)" for t in p["tracks"])
    what = "the course" if p["course_certificate"] else "the tracks"
    return (f"[green]genuine[/green]: {p['student']} passed {what} of {p['course']['title']} ({p['course']['id']}): "
            f"{tracks}; issued {p['issued_at'][:10]}, grader {p['grader_version']}"
            + ("" if p["timing"] else ", timing off"))
