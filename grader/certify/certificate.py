"""Certificates anyone can verify: Ed25519 keys, signed JSON over a canonical form, printable HTML.

A certificate is ``{"schema": "grade-certificate/2", "payload": {...}, "key_id": ..., "signature": ...}``;
``grade-certificate/1`` documents (one pass mark on all points, issued before per-track rules) still verify.
The signature covers the canonical serialisation of ``payload`` (sorted keys, no spaces, UTF-8), so
any change to any field, or a signature made with another key, fails verification. Signing happens
in the trusted process after grading; the private key is never readable by a worker.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import zipfile
from pathlib import Path

from grader.course.discover import Course
from grader.errors import GraderError
from grader.messages import Translator

SCHEMA = "grade-certificate/2"
LEGACY_SCHEMA = "grade-certificate/1"  # a share of all points; still verified, no longer issued
PAYLOAD_KEYS = {
    SCHEMA: ("id", "student", "course", "issuer", "tracks", "course_certificate", "exercises", "score",
             "max_score", "percent", "rules_sha256", "device", "timing", "grader_version",
             "exercise_set_sha256", "submission_sha256", "issued_at", "credentials"),
    LEGACY_SCHEMA: ("student", "course", "exercises", "score", "max_score", "percent", "pass_mark", "device",
                    "grader_version", "exercise_set_sha256", "submission_sha256", "issued_at"),
}


class CertificateError(GraderError):
    """A certificate is malformed, altered or signed by another key."""

    exit_code = 1


def crypto_api():
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    except ImportError:
        raise GraderError("certificates need the cryptography package: pip install 'grader[certify]'") from None
    return serialization, Ed25519PrivateKey, Ed25519PublicKey, InvalidSignature


# Keys ------------------------------------------------------------------------------------------

def init_keys(out: Path, force: bool = False) -> tuple[Path, Path]:
    """Write ``out/grader.key`` (owner-only) and ``out/grader.pub``; refuse to overwrite a key."""
    serialization, Ed25519PrivateKey, _, _ = crypto_api()
    out.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = out / "grader.key", out / "grader.pub"
    if key_path.exists() and not force:
        raise GraderError(f"{key_path} exists; refusing to overwrite a signing key (use --force)")
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    os.chmod(key_path, 0o600)
    pub_path.write_bytes(public)
    return key_path, pub_path


def load_private_key(path: Path):
    serialization, Ed25519PrivateKey, _, _ = crypto_api()
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise GraderError(f"cannot read the signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise GraderError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path):
    serialization, _, Ed25519PublicKey, _ = crypto_api()
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise GraderError(f"cannot read the public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise GraderError(f"{path} is not an Ed25519 public key")
    return key


def key_id(public_key) -> str:
    serialization, _, _, _ = crypto_api()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# Hashes ----------------------------------------------------------------------------------------

def _tree_digest(files: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for rel, data in sorted(files):
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).hexdigest().encode() + b"\n")
    return h.hexdigest()


def exercise_set_hash(course: Course, exercise_ids: list[str] | None = None) -> str:
    """SHA-256 over every file of the graded exercises: statements, metadata, stubs and checks."""
    files = []
    for e in course.exercises:
        if exercise_ids and e.id not in exercise_ids:
            continue
        for p in sorted(e.path.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                files.append((p.relative_to(course.root / "exercises").as_posix(), p.read_bytes()))
    return _tree_digest(files)


def submission_hash(path: Path) -> str:
    """SHA-256 of a .zip's bytes, or over the files of a submission folder."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    files = [(p.relative_to(path).as_posix(), p.read_bytes()) for p in sorted(path.rglob("*"))
             if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts]
    return _tree_digest(files)


# Signing and verifying -------------------------------------------------------------------------

def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(payload: dict, private_key, schema: str = SCHEMA) -> dict:
    signature = private_key.sign(canonical(payload))
    return {"schema": schema, "payload": payload, "key_id": key_id(private_key.public_key()),
            "signature": base64.b64encode(signature).decode("ascii")}


def verify(document: object, public_key) -> dict:
    """Return the payload of a genuine certificate; raise CertificateError saying what is wrong."""
    _, _, _, InvalidSignature = crypto_api()
    if not isinstance(document, dict) or document.get("schema") not in PAYLOAD_KEYS:
        raise CertificateError(f"malformed certificate: not a {SCHEMA} (or {LEGACY_SCHEMA}) document")
    payload, signature = document.get("payload"), document.get("signature")
    if not isinstance(payload, dict) or not isinstance(signature, str):
        raise CertificateError("malformed certificate: payload or signature missing")
    missing = [k for k in PAYLOAD_KEYS[document["schema"]] if k not in payload]
    if missing:
        raise CertificateError(f"malformed certificate: missing {', '.join(missing)}")
    try:
        raw = base64.b64decode(signature, validate=True)
    except ValueError:
        raise CertificateError("malformed certificate: the signature is not base64") from None
    try:
        public_key.verify(raw, canonical(payload))
    except InvalidSignature:
        if document.get("key_id") not in (None, key_id(public_key)):
            raise CertificateError("signed by another key (key id "
                                   f"{document.get('key_id')}, expected {key_id(public_key)})") from None
        raise CertificateError("the signature does not match: the certificate was altered "
                               "or signed by another key") from None
    return payload


def read_document(cert: Path) -> dict:
    try:
        document = json.loads(cert.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CertificateError(f"malformed certificate: {exc}") from None
    if not isinstance(document, dict):
        raise CertificateError("malformed certificate: not a JSON object")
    return document


def verify_file(cert: Path, public_key_path: Path) -> dict:
    return verify(read_document(cert), load_public_key(public_key_path))


def document_ids(document: dict) -> list[str]:
    """What a revocation names: the certificate's id and its credentials' ids (a legacy one: its signature)."""
    payload = document.get("payload") or {}
    if document.get("schema") == LEGACY_SCHEMA:
        return ["sha256:" + hashlib.sha256(str(document.get("signature", "")).encode()).hexdigest()]
    return [payload["id"], *payload.get("credentials", {}).values()]


# Printable page ---------------------------------------------------------------------------------

def _track_rows(p: dict, tr: Translator) -> str:
    e = html.escape
    if "tracks" not in p:  # legacy: one pass mark on all points
        return ""
    rows = "".join(
        f"<tr><td>{e(str(t['title']))}</td><td class=num>{t['score']:g} / {t['max_score']:g}</td>"
        f"<td class=num>{t['percent']:g}%</td><td class=num>{t['pass_mark']:g}%</td>"
        f"<td>{e(', '.join(t['required'])) or '–'}</td></tr>" for t in p["tracks"])
    return (f"<table id=tracks><tr><th>{tr('certificate.track_certified')}</th><th class=num>{tr('certificate.score')}"
            f"</th><th class=num>%</th><th class=num>{tr('certificate.pass_mark')}</th>"
            f"<th>{tr('certificate.required')}</th></tr>{rows}</table>")


def render_html(document: dict, cert_name: str, lang: str = "en") -> str:
    """A printable page from a signed certificate, with the commands that verify it and its badges, in
    ``lang`` (the signed document itself is the same in every language)."""
    p = document["payload"]
    e = html.escape
    tr = Translator(lang)
    rows = "".join(
        f"<tr><td>{e(str(x['title']))}</td><td><code>{e(str(x['id']))}</code></td>"
        f"<td class=num>{x['score']:g} / {x['max_score']:g}</td></tr>" for x in p["exercises"])
    if "tracks" in p:
        course, date = e(p["course"]["title"]), e(p["issued_at"][:10])
        heading = tr("certificate.completion" if p["course_certificate"] else "certificate.achievement")
        line = (tr("certificate.completed_course", course=course, date=date) if p["course_certificate"] else
                tr.n("certificate.passed_tracks", len(p["tracks"]), tracks=e(", ".join(t["title"] for t in p["tracks"])),
                     course=course, date=date))
    else:
        heading = tr("certificate.completion")
        line = tr("certificate.passed_score", score=f"{p['score']:g} / {p['max_score']:g}", percent=f"{p['percent']:g}",
                  pass_mark=f"{p['pass_mark']:g}", date=e(p["issued_at"]))
    and_badges = tr("certificate.and_badges")
    badges = "".join(f"<li><code>grade verify openbadges/{e(p['student'])}/{e(name)}.jwt --public-key grader.pub"
                     f"</code></li>" for name in p.get("credentials", {}))
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{tr('certificate.page_title', student=e(p['student']))}</title>
<style>
body {{ font-family: Georgia, serif; max-width: 50rem; margin: 2rem auto; color: #1b1b1b; }}
.frame {{ border: 6px double #2b4a6f; padding: 2rem 3rem; }}
h1 {{ text-align: center; letter-spacing: .08em; color: #2b4a6f; margin-bottom: .2rem; }}
.sub {{ text-align: center; font-style: italic; }}
.name {{ text-align: center; font-size: 2rem; margin: 1.2rem 0; }}
table {{ width: 100%; border-collapse: collapse; font-family: sans-serif; font-size: .9rem; margin: 1rem 0; }}
td, th {{ border-bottom: 1px solid #ccd; padding: .25rem .4rem; text-align: left; }}
.num {{ text-align: right; }}
.meta {{ font-family: monospace; font-size: .75rem; word-break: break-all; color: #444; }}
@media print {{ body {{ margin: 0; }} }}
</style></head><body><div class=frame>
<h1>{heading}</h1>
<p class=sub>{e(p['course']['title'])} <span class=meta>({e(p['course']['id'])})</span></p>
<p class=name id=student>{e(p['student'])}</p>
<p class=sub>{line}</p>
{_track_rows(p, tr)}
<table><tr><th>{tr('certificate.exercise')}</th><th>{tr('certificate.id')}</th><th class=num>{tr('certificate.score')}</th></tr>{rows}</table>
<p class=meta>{e('id ' + p['id'] + ' · ') if 'id' in p else ''}grader {e(p['grader_version'])} · device {e(p['device'])}<br>
exercise set sha256 {e(p['exercise_set_sha256'])}<br>submission sha256 {e(p['submission_sha256'])}<br>
key id {e(str(document.get('key_id')))} · signature {e(document['signature'])}</p>
<p>{tr('certificate.verify_with')}</p>
<pre>grade verify {e(cert_name)} --public-key grader.pub</pre>
{f'<p>{and_badges}</p><ul>{badges}</ul>' if badges else ''}
</div></body></html>
"""


def is_zip(path: Path) -> bool:
    return path.is_file() and zipfile.is_zipfile(path)
