"""Open Badges 3.0 credentials: valid by the official schema, verified by ``grade verify``, refused once altered.

The schema is 1EdTech's own (tests/openbadges/README.md says where it comes from); it is applied to
the credential as a verifier gets it, the payload of the VC-JWT, with JSON Schema draft 2019-09 and
its format checker (date-time checked through rfc3339-validator, in the ``test`` extra).
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from jsonschema import Draft201909Validator
from jwcrypto import jwk, jwt
from typer.testing import CliRunner

from certify_support import POINTS, RULES, make_course, synthetic_report
from conftest import ROOT
from grader.certify import certificate as certify
from grader.certify import issuing, openbadges
from grader.certify.rules import decide, load_rules
from grader.cli import app
from grader.course.discover import load_course

runner = CliRunner()
SCHEMA = json.loads((ROOT / "tests" / "openbadges" / "ob_v3p0_achievementcredential_schema.json").read_text())
VALIDATOR = Draft201909Validator(SCHEMA, format_checker=Draft201909Validator.FORMAT_CHECKER)
NAMES = ["course", "foundations", "large-models"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims_of(token: str) -> dict:
    """The credential in a VC-JWT, read without checking anything: what a schema validator is given."""
    return json.loads(_unb64(token.split(".")[1]))


def schema_errors(credential: dict) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in VALIDATOR.iter_errors(credential)]


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    """ada's credentials (the course and both tracks) and the key pair that signed them."""
    tmp = tmp_path_factory.mktemp("badges")
    course = load_course(make_course(tmp / "course"))
    rules = load_rules(course)
    certify.init_keys(tmp / "keys")
    key = certify.load_private_key(tmp / "keys" / "grader.key")
    report = synthetic_report({ex: 1.0 for ex in POINTS}, student="ada")
    issuing.issue(decision=decide(report, rules, "ada"), report=report, course=course, rules=rules,
                  submission=ROOT / "solutions" / "sigmoid", private_key=key, out=tmp / "out",
                  exercise_ids=list(POINTS), timing=False)
    folder = tmp / "out" / "certificates" / "openbadges" / "ada"
    tokens = {name: (folder / f"{name}.jwt").read_text().strip() for name in NAMES}
    return {"tokens": tokens, "key": key, "pub": tmp / "keys" / "grader.pub", "tmp": tmp, "rules": rules}


def _verify(path: Path, pub: Path):
    return runner.invoke(app, ["verify", str(path), "--public-key", str(pub)])


def _write(tmp: Path, token: str, name: str = "x.jwt") -> Path:
    path = tmp / name
    path.write_text(token + "\n")
    return path


def test_the_vendored_schema_is_the_official_one():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2019-09/schema#"
    assert SCHEMA["$id"].startswith("https://purl.imsglobal.org/spec/ob/v3p0/schema/")
    assert set(SCHEMA["required"]) >= {"@context", "id", "type", "credentialSubject", "issuer", "validFrom"}
    Draft201909Validator.check_schema(SCHEMA)
    assert "date-time" in Draft201909Validator.FORMAT_CHECKER.checkers  # else dates would go unchecked


@pytest.mark.parametrize("name", NAMES)
def test_every_credential_validates_against_the_official_schema(issued, name):
    credential = claims_of(issued["tokens"][name])
    assert schema_errors(credential) == []
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = credential["credentialSubject"]
    assert subject["identifier"][0]["identityHash"] == "ada"
    assert subject["achievement"]["type"] == ["Achievement"] and subject["result"][0]["value"] == "100"
    assert credential["credentialSchema"][0]["id"] == openbadges.SCHEMA


@pytest.mark.parametrize("name", NAMES)
def test_grade_verify_accepts_every_credential(issued, name):
    result = _verify(_write(issued["tmp"], issued["tokens"][name], f"{name}.jwt"), issued["pub"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # as one line, however the console wrapped it
    assert "genuine Open Badges 3.0 credential: ada earned" in text
    assert "with 100%" in text and "issued by Test Academy" in text


def test_the_jwt_follows_the_vc_jwt_rules_and_names_the_key_as_a_did(issued):
    token = issued["tokens"]["foundations"]
    header = json.loads(_unb64(token.split(".")[0]))
    claims = claims_of(token)
    assert header["alg"] == "EdDSA" and header["typ"] == "JWT"
    assert claims["iss"] == claims["issuer"]["id"] and claims["jti"] == claims["id"]
    assert claims["nbf"] == int(datetime.fromisoformat(claims["validFrom"].replace("Z", "+00:00")).timestamp())
    # did:key: multibase z (base58btc) of the ed25519-pub multicodec 0xed01 and the raw public key
    did = claims["issuer"]["id"]
    assert did.startswith("did:key:z6Mk") and header["kid"] == f"{did}#{did.removeprefix('did:key:')}"
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n = 0
    for ch in did.removeprefix("did:key:z"):
        n = n * 58 + alphabet.index(ch)
    raw = issued["key"].public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert n.to_bytes(34, "big") == b"\xed\x01" + raw
    assert _unb64(header["jwk"]["x"]) == raw


def test_an_issuer_id_from_the_rules_is_the_credentials_issuer(tmp_path):
    rules_text = RULES.replace('name = "Test Academy"', 'name = "Test Academy"\nid = "https://academy.example.org/issuer"')
    course = load_course(make_course(tmp_path / "course", rules_text))
    rules = load_rules(course)
    key = certify.load_private_key(certify.init_keys(tmp_path / "keys")[0])
    doc = openbadges.credential(rules=rules, course=course, name="foundations", student="ada", percent=75.0,
                                public_key=key.public_key(), submission_sha256="0" * 64,
                                issued=datetime(2026, 1, 2, tzinfo=timezone.utc))
    token = openbadges.sign(doc, key, openbadges.key_ref(rules.issuer, key.public_key()))
    assert json.loads(_unb64(token.split(".")[0]))["kid"] == "https://academy.example.org/issuer#key-1"
    claims = openbadges.verify(token, key.public_key())
    assert claims["iss"] == claims["issuer"]["id"] == "https://academy.example.org/issuer"
    assert claims["validFrom"] == "2026-01-02T00:00:00Z" and schema_errors(claims) == []


def _set(path: tuple, value):
    def change(c):
        target = c
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


ALTERATIONS = {
    "name": _set(("name",), "Test Course (with honours)"),
    "achievement name": _set(("credentialSubject", "achievement", "name"), "Something else"),
    "result value": _set(("credentialSubject", "result", 0, "value"), "99"),
    "issuer id": _set(("issuer", "id"), "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"),
    "issuer name": _set(("issuer", "name"), "Another Academy"),
    "iss": _set(("iss",), "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"),
    "validFrom": _set(("validFrom",), "2020-01-01T00:00:00Z"),
    "student identity": _set(("credentialSubject", "identifier", 0, "identityHash"), "mallory"),
    "id": _set(("id",), "urn:uuid:00000000-0000-0000-0000-000000000000"),
    "criteria": _set(("credentialSubject", "achievement", "criteria", "narrative"), "Attend."),
}


@pytest.mark.parametrize("field", ALTERATIONS)
def test_any_altered_field_fails_verification(issued, field):
    header, payload, signature = issued["tokens"]["course"].split(".")
    claims = json.loads(_unb64(payload))
    altered = copy.deepcopy(claims)
    ALTERATIONS[field](altered)
    assert altered != claims
    assert schema_errors(altered) == []  # still a well-formed credential: only the signature can tell
    token = ".".join([header, _b64(json.dumps(altered).encode()), signature])
    result = _verify(_write(issued["tmp"], token), issued["pub"])
    assert result.exit_code == 1, result.output
    assert "altered or signed by another key" in result.output


def test_the_same_claims_reencoded_still_verify(issued):
    """The refusals above come from the change, not from re-encoding the payload."""
    token = issued["tokens"]["course"]
    payload = token.split(".")[1]
    assert _b64(_unb64(payload)) == payload
    assert _verify(_write(issued["tmp"], token), issued["pub"]).exit_code == 0


def test_an_altered_signature_fails(issued):
    header, payload, signature = issued["tokens"]["foundations"].split(".")
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1:]
    result = _verify(_write(issued["tmp"], ".".join([header, payload, flipped])), issued["pub"])
    assert result.exit_code == 1 and "altered or signed by another key" in result.output


def test_an_unsigned_alg_none_token_fails(issued):
    _, payload, _ = issued["tokens"]["foundations"].split(".")
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    result = _verify(_write(issued["tmp"], f"{header}.{payload}.AAAA"), issued["pub"])
    assert result.exit_code == 1 and "signature does not match" in result.output, result.output


def test_a_credential_signed_by_another_key_fails(issued, tmp_path):
    other = certify.load_private_key(certify.init_keys(tmp_path / "other")[0])
    doc = {k: v for k, v in claims_of(issued["tokens"]["foundations"]).items() if k not in ("iss", "jti", "nbf")}
    token = openbadges.sign(doc, other, "did:key:other#key")
    assert openbadges.verify(token, other.public_key())["id"] == doc["id"]  # genuine for its own key
    result = _verify(_write(tmp_path, token), issued["pub"])
    assert result.exit_code == 1 and "another key" in result.output


def test_a_signed_token_that_is_no_open_badge_is_refused(issued, tmp_path):
    key = jwk.JWK.from_pyca(issued["key"])
    claims = claims_of(issued["tokens"]["foundations"])
    for bad, message in ((dict(claims, type=["VerifiableCredential"]), "not an OpenBadgeCredential"),
                         (dict(claims, iss="did:example:someone"), "iss and jti")):
        token = jwt.JWT(header={"alg": "EdDSA", "typ": "JWT"}, claims=bad)
        token.make_signed_token(key)
        result = _verify(_write(tmp_path, token.serialize()), issued["pub"])
        assert result.exit_code == 1 and message in result.output, result.output


@pytest.mark.parametrize("break_it,where", [
    (lambda c: c.pop("credentialSubject"), "credentialSubject"),
    (lambda c: c.pop("issuer"), "issuer"),
    (lambda c: c.update(type=["VerifiableCredential"]), "type"),
    (lambda c: c.update(validFrom="yesterday"), "date-time"),
    (lambda c: c["credentialSubject"]["achievement"].pop("criteria"), "criteria"),
    (lambda c: c["credentialSubject"]["result"][0].update(type="Score"), "type"),
    (lambda c: c.update({"@context": ["https://www.w3.org/ns/credentials/v2"]}), "@context"),
], ids=["no credentialSubject", "no issuer", "no OB type", "validFrom not a date", "achievement without criteria",
        "result type not Result", "no OB context"])
def test_the_schema_rejects_an_invalid_credential(issued, break_it, where):
    credential = claims_of(issued["tokens"]["course"])
    break_it(credential)
    errors = schema_errors(credential)
    assert errors, f"the schema accepted a credential with {where} broken"
    assert any(where in e for e in errors), errors
