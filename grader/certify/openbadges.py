"""Open Badges 3.0: each certified track (and the course) as an ``OpenBadgeCredential``, signed as a VC-JWT.

Open Badges 3.0 (1EdTech, 2024) makes a badge a W3C Verifiable Credential (data model 2.0). Of the
standard's two proof formats this module uses the JSON Web Token one (OB 3.0 §8.2): the JWT payload
is the credential itself, with the registered claims ``iss`` (issuer id), ``jti`` (credential id)
and ``nbf`` (validFrom) beside it; the JOSE header names ``alg: EdDSA``, ``typ: JWT``, the ``kid`` and
the public ``jwk``. It is signed with the course's Ed25519 key through jwcrypto, so nothing here
canonicalises or signs by hand. A wallet, a badge platform or an employer's verifier that reads OB
3.0 reads these files; ``grade verify`` checks them against the course's public key.

The issuer's id is ``[tool.grade.certificate.issuer] id`` or, when none is set, the key's own
``did:key``, which any DID resolver turns back into the public key.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from grader.certify.rules import Issuer, Rules, criteria
from grader.course.discover import Course
from grader.errors import GraderError

CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
CREDENTIAL_TYPES = ["VerifiableCredential", "OpenBadgeCredential"]
COURSE = "course"  # the achievement name of the course certificate, beside the track names
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def jose_api():
    try:
        from jwcrypto import jwk, jws, jwt
        from jwcrypto.common import JWException
    except ImportError:
        raise GraderError("Open Badges credentials need jwcrypto: pip install 'grader[certify]'") from None
    return jwk, jws, jwt, JWException


def _base58(data: bytes) -> str:
    """Bitcoin-alphabet base58, the multibase ``z`` encoding that did:key uses."""
    n, out = int.from_bytes(data, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def did_key(public_key) -> str:
    """``did:key:z6Mk…``: multicodec ed25519-pub (0xed 0x01) and the raw key, base58btc."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "did:key:z" + _base58(b"\xed\x01" + raw)


def issuer_id(issuer: Issuer, public_key) -> str:
    return issuer.id or did_key(public_key)


def key_ref(issuer: Issuer, public_key) -> str:
    """The JOSE ``kid``: a DID URL naming the key within the issuer's id."""
    if issuer.id is None:
        did = did_key(public_key)
        return f"{did}#{did.removeprefix('did:key:')}"
    return f"{issuer.id}#key-1"


def profile(issuer: Issuer, public_key) -> dict:
    out = {"id": issuer_id(issuer, public_key), "type": ["Profile"], "name": issuer.name}
    for key in ("url", "email", "description"):
        if getattr(issuer, key):
            out[key] = getattr(issuer, key)
    return out


def _uri(base: str, *parts: str) -> str:
    """A stable URI for an achievement and its parts: under the issuer's url, else a name-based uuid."""
    if base.startswith(("https://", "http://")):
        return "/".join([base.rstrip("/"), "achievements", *parts])
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '/'.join([base, *parts]))}"


def achievement(rules: Rules, course: Course, name: str, public_key) -> dict:
    """The Achievement of one track, or of the whole course (``name == COURSE``)."""
    base = rules.issuer.url or issuer_id(rules.issuer, public_key)
    ach_id = _uri(base, course.id, name)
    if name == COURSE:
        titles = [rules.track(t).title for t in rules.course]
        doc = {"name": course.title, "achievementType": "CertificateOfCompletion",
               "description": f"Completion of {course.title}: every one of its tracks ({', '.join(titles)}) passed.",
               "criteria": {"narrative": "Pass each track of the course by its own rule. " + " ".join(
                   criteria(rules.track(t)) for t in rules.course)}}
        required = None
    else:
        rule = rules.track(name)
        doc = {"name": f"{course.title}: {rule.title}", "achievementType": "Certificate",
               "description": rule.description, "criteria": {"narrative": criteria(rule)}}
        required = rule.pass_mark
    score = {"id": _uri(base, course.id, name, "score"), "type": ["ResultDescription"],
             "name": "Share of the points earned", "resultType": "Percent", "valueMin": "0", "valueMax": "100"}
    if required is not None:
        score["requiredValue"] = f"{required:g}"
    return {"id": ach_id, "type": ["Achievement"], **doc, "humanCode": f"{course.id}/{name}",
            "resultDescription": [score]}


def credential(*, rules: Rules, course: Course, name: str, student: str, percent: float, public_key,
               submission_sha256: str, issued: datetime, credential_id: str | None = None) -> dict:
    """An unsigned OpenBadgeCredential for ``student`` earning achievement ``name`` with ``percent``."""
    ach = achievement(rules, course, name, public_key)
    issued = issued.astimezone(timezone.utc).replace(microsecond=0)
    return {
        "@context": CONTEXT,
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": CREDENTIAL_TYPES,
        "name": ach["name"],
        "description": f"{student} earned {ach['name']} with {percent:g}% of the points.",
        "issuer": profile(rules.issuer, public_key),
        "validFrom": issued.isoformat().replace("+00:00", "Z"),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityHash": student, "identityType": "name",
                            "hashed": False}],
            "achievement": ach,
            "result": [{"type": ["Result"], "resultDescription": ach["resultDescription"][0]["id"],
                        "value": f"{percent:g}"}],
        },
        "evidence": [{"type": ["Evidence"], "name": "The graded submission",
                      "description": f"sha256 {submission_sha256} of the submission graded by grade "
                                     "(a zip's bytes, or a folder's files)"}],
        "credentialSchema": [{"id": SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }


def sign(doc: dict, private_key, kid: str) -> str:
    """The compact JWS (VC-JWT) of a credential."""
    jwk, _, jwt, _ = jose_api()
    claims = dict(doc)
    claims["iss"] = doc["issuer"]["id"]
    claims["jti"] = doc["id"]
    claims["nbf"] = int(datetime.fromisoformat(doc["validFrom"].replace("Z", "+00:00")).timestamp())
    public = jwk.JWK.from_pyca(private_key.public_key()).export_public(as_dict=True)
    token = jwt.JWT(header={"alg": "EdDSA", "typ": "JWT", "kid": kid, "jwk": public}, claims=claims)
    token.make_signed_token(jwk.JWK.from_pyca(private_key))
    return token.serialize()


def verify(token: str, public_key) -> dict:
    """The credential of a genuine VC-JWT signed by ``public_key``; CertificateError saying what is wrong."""
    from grader.certify.certificate import CertificateError

    jwk, jws, jwt, JWException = jose_api()
    key = jwk.JWK.from_pyca(public_key)
    try:
        checked = jwt.JWT(jwt=token.strip(), key=key, algs=["EdDSA"])
    except (ValueError, jws.InvalidJWSObject) as exc:
        raise CertificateError(f"malformed credential: not a compact JWT ({exc})") from None
    except JWException as exc:
        raise CertificateError(f"the signature does not match: the credential was altered or signed by "
                               f"another key ({type(exc).__name__})") from None
    try:
        claims = json.loads(checked.claims)
        header = json.loads(checked.header)
    except ValueError:
        raise CertificateError("malformed credential: its payload is not JSON") from None
    if header.get("alg") != "EdDSA" or not isinstance(claims, dict):
        raise CertificateError("malformed credential: not an EdDSA-signed JSON credential")
    types = claims.get("type")
    if not (isinstance(types, list) and "VerifiableCredential" in types
            and ({"OpenBadgeCredential", "AchievementCredential"} & set(types))):
        raise CertificateError("malformed credential: not an OpenBadgeCredential")
    issuer = claims.get("issuer")
    issuer_ref = issuer.get("id") if isinstance(issuer, dict) else issuer
    if claims.get("iss") != issuer_ref or claims.get("jti") != claims.get("id"):
        raise CertificateError("malformed credential: iss and jti do not match issuer.id and id (OB 3.0 §8.2.4)")
    return claims
