"""A signed list of revoked certificates: ``grade revoke`` adds to it, ``grade verify --revocations`` reads it.

The list is ``{"schema": "grade-revocations/1", "payload": {"entries": [...], "updated_at"}, "key_id",
"signature"}``, signed like a certificate (Ed25519 over the payload's canonical JSON) with the same
key, so a verifier who trusts the course's public key trusts the list, and a list altered or signed
by anyone else is refused. An entry names the student, the ids of every credential revoked (the
certificate's and each Open Badges credential's), the reason and the time. A later ``reinstate``
entry lets a batch certify the student again; the credentials revoked before stay revoked.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from grader.certify.certificate import (CertificateError, crypto_api, canonical, document_ids, key_id, read_document,
                                        verify as verify_certificate)
from grader.errors import GraderError
from grader.outputs.files import atomic_write

SCHEMA = "grade-revocations/1"


@dataclass(frozen=True)
class Entry:
    student: str
    ids: tuple[str, ...]
    reason: str
    at: str
    action: str = "revoke"  # or "reinstate": the student may be certified again (new credentials)


@dataclass(frozen=True)
class Revocations:
    entries: tuple[Entry, ...] = ()

    def revoked(self, credential_id: str) -> Entry | None:
        return next((e for e in self.entries if e.action == "revoke" and credential_id in e.ids), None)

    def barred(self, student: str) -> Entry | None:
        """The revocation that keeps ``student`` from a new certificate, unless reinstated since."""
        last = None
        for e in self.entries:
            if e.student == student:
                last = e
        return last if last is not None and last.action == "revoke" else None


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def load(path: Path, public_key) -> Revocations:
    """The list at ``path`` if its signature is good; CertificateError if altered or foreign."""
    _, _, _, InvalidSignature = crypto_api()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CertificateError(f"cannot read the revocation list {path}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or not isinstance(doc.get("payload"), dict):
        raise CertificateError(f"malformed revocation list {path}: not a {SCHEMA} document")
    try:
        public_key.verify(base64.b64decode(str(doc.get("signature", "")), validate=True), canonical(doc["payload"]))
    except (InvalidSignature, ValueError):
        raise CertificateError(f"the revocation list {path} was altered or signed by another key") from None
    try:
        entries = tuple(Entry(str(e["student"]), tuple(map(str, e["ids"])), str(e["reason"]), str(e["at"]),
                              str(e.get("action", "revoke"))) for e in doc["payload"]["entries"])
    except (KeyError, TypeError) as exc:
        raise CertificateError(f"malformed revocation list {path}: {exc}") from None
    return Revocations(entries)


def save(path: Path, revocations: Revocations, private_key) -> None:
    payload = {"entries": [{"student": e.student, "ids": list(e.ids), "reason": e.reason, "at": e.at,
                            "action": e.action} for e in revocations.entries], "updated_at": _now()}
    doc = {"schema": SCHEMA, "payload": payload, "key_id": key_id(private_key.public_key()),
           "signature": base64.b64encode(private_key.sign(canonical(payload))).decode("ascii")}
    atomic_write(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def student_ids(certificates: Path, student: str, public_key) -> list[str]:
    """The ids of ``student``'s certificate in ``certificates/`` (checked genuine first)."""
    cert = certificates / f"{student}.json"
    if not cert.is_file():
        return []
    document = read_document(cert)
    verify_certificate(document, public_key)
    return document_ids(document)


def revoke(*, list_path: Path, private_key, student: str, reason: str, ids: list[str],
           action: str = "revoke") -> tuple[Entry, bool]:
    """Add an entry to the list at ``list_path`` (created if absent), re-signed as a whole.

    Returns the entry and whether it was added: revoking again what is already revoked (every id,
    the student still barred) leaves the list as it is and returns the entry that revoked it.
    """
    if not reason.strip():
        raise GraderError("a revocation needs --reason TEXT (it is shown to whoever verifies the certificate)")
    current = load(list_path, private_key.public_key()) if list_path.exists() else Revocations()
    ids = list(dict.fromkeys(ids))
    if action == "revoke" and not ids:
        raise GraderError(f"no certificate of {student} to revoke (none in the output folder's certificates/; "
                          "give --out DIR or --id ID)")
    if action == "reinstate" and current.barred(student) is None:
        raise GraderError(f"{student} is not revoked in {list_path}")
    if action == "revoke" and current.barred(student) is not None and all(current.revoked(i) for i in ids):
        return current.revoked(ids[0]), False
    entry = Entry(student, tuple(ids), reason.strip(), _now(), action)
    save(list_path, Revocations(current.entries + (entry,)), private_key)
    return entry, True
