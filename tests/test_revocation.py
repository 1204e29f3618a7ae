"""Revocation: ``grade revoke`` writes a signed list, ``grade verify --revocations`` consults it, a batch honours it."""

from __future__ import annotations

import io
import json
import shutil

import pytest
from rich.console import Console
from typer.testing import CliRunner

from certify_support import POINTS, make_course, synthetic_report
from conftest import ROOT
from grader.batch.certification import Certify, certify_class
from grader.batch.roster import Student
from grader.certify import certificate as certify
from grader.certify import issuing, revocation
from grader.certify.certificate import CertificateError
from grader.certify.rules import decide, load_rules
from grader.cli import app
from grader.course.discover import load_course
from grader.outputs.gradebook import Row

runner = CliRunner()
REASON = "copied attention from ben"
EARNED = {"ada": {ex: 1.0 for ex in POINTS}, "cai": {"sigmoid": 1.0, "mse_loss": 1.0, "mlp_backward": 1.0}}


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    """ada's certificate (the course) and cai's (foundations), issued into one output folder."""
    tmp = tmp_path_factory.mktemp("revoke")
    course = load_course(make_course(tmp / "course"))
    rules = load_rules(course)
    key_path, pub_path = certify.init_keys(tmp / "keys")
    key = certify.load_private_key(key_path)
    submission = tmp / "submission"
    shutil.copytree(ROOT / "solutions" / "sigmoid", submission / "sigmoid")
    for student, earned in EARNED.items():
        report = synthetic_report(earned, student=student)
        issuing.issue(decision=decide(report, rules, student), report=report, course=course, rules=rules,
                      submission=submission, private_key=key, out=tmp / "out", exercise_ids=list(POINTS),
                      timing=False)
    return {"course": course, "key": key_path, "pub": pub_path, "out": tmp / "out", "submission": submission}


@pytest.fixture()
def out(issued, tmp_path):
    """A fresh copy of the output folder, so that each test starts with no revocation list."""
    shutil.copytree(issued["out"], tmp_path / "out")
    return tmp_path / "out"


def _cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result, " ".join(result.output.split())


def _revoke(issued, out, student="ada", reason=REASON, *more):
    return _cli("revoke", student, "--reason", reason, "--key", issued["key"], "--out", out, *more)


def _verify(issued, path, revocations=None):
    return _cli("verify", path, "--public-key", issued["pub"], *(["--revocations", revocations] if revocations else []))


def _documents(out, student):
    folder = out / "certificates"
    return [folder / f"{student}.json", *sorted((folder / "openbadges" / student).glob("*.jwt"))]


def test_revoke_writes_a_signed_list_naming_every_credential(issued, out):
    result, text = _revoke(issued, out)
    assert result.exit_code == 0, result.output
    assert "revoked 4 credential(s) of ada in" in text and text.endswith(f": {REASON}")
    doc = json.loads((out / "revocations.json").read_text())
    assert doc["schema"] == "grade-revocations/1" and doc["signature"]
    (entry,) = doc["payload"]["entries"]
    payload = json.loads((out / "certificates" / "ada.json").read_text())["payload"]
    assert entry["ids"] == [payload["id"], *payload["credentials"].values()]
    assert entry["student"] == "ada" and entry["reason"] == REASON and entry["action"] == "revoke"
    listed = revocation.load(out / "revocations.json", certify.load_public_key(issued["pub"]))
    assert listed.barred("ada") and listed.barred("cai") is None


def test_verify_refuses_every_revoked_document_with_the_reason(issued, out):
    assert _revoke(issued, out)[0].exit_code == 0
    listed = out / "revocations.json"
    ada = _documents(out, "ada")
    assert len(ada) == 4  # the certificate and its three credentials
    for path in ada:
        result, text = _verify(issued, path, listed)
        assert result.exit_code == 1, (path, result.output)
        assert f"revoked on " in text and REASON in text and "the signature itself is genuine" in text
        assert _verify(issued, path)[0].exit_code == 0  # without the list: the signature alone is fine
    for path in _documents(out, "cai"):
        result, text = _verify(issued, path, listed)
        assert result.exit_code == 0 and "genuine" in text, result.output


def _tamper_entries(doc):
    doc["payload"]["entries"] = []


def _tamper_reason(doc):
    doc["payload"]["entries"][0]["reason"] = "a clerical error"


def _tamper_student(doc):
    doc["payload"]["entries"][0]["ids"] = ["urn:uuid:00000000-0000-0000-0000-000000000000"]


@pytest.mark.parametrize("tamper", [_tamper_entries, _tamper_reason, _tamper_student],
                         ids=["entry removed", "reason changed", "ids changed"])
def test_a_tampered_list_is_refused_not_read_as_empty(issued, out, tamper):
    assert _revoke(issued, out)[0].exit_code == 0
    listed = out / "revocations.json"
    doc = json.loads(listed.read_text())
    tamper(doc)
    listed.write_text(json.dumps(doc))
    for path in (out / "certificates" / "ada.json", out / "certificates" / "cai.json"):
        result, text = _verify(issued, path, listed)
        assert result.exit_code == 1, result.output
        assert "was altered or signed by another key" in text and "genuine" not in text
    result, text = _revoke(issued, out, "cai", "another case")  # nor is it added to
    assert result.exit_code == 1 and "was altered" in text


def test_a_list_signed_by_another_key_is_refused(issued, out, tmp_path):
    other, _ = certify.init_keys(tmp_path / "other")
    result, text = _cli("revoke", "ada", "--reason", REASON, "--key", other, "--out", out)
    assert result.exit_code == 1 and "signed by another key" in text  # ada's certificate is not that key's
    ada = json.loads((out / "certificates" / "ada.json").read_text())["payload"]
    result, _ = _cli("revoke", "ada", "--reason", REASON, "--key", other, "--out", tmp_path / "elsewhere",
                     "--id", ada["id"], "--list", out / "revocations.json")
    assert result.exit_code == 0, result.output
    result, text = _verify(issued, out / "certificates" / "ada.json", out / "revocations.json")
    assert result.exit_code == 1 and "altered or signed by another key" in text


def test_a_missing_or_malformed_list_is_an_error(issued, out):
    result, text = _verify(issued, out / "certificates" / "ada.json", out / "nowhere.json")
    assert result.exit_code == 1 and "cannot read the revocation list" in text
    (out / "bad.json").write_text('{"schema": "something else"}')
    result, text = _verify(issued, out / "certificates" / "ada.json", out / "bad.json")
    assert result.exit_code == 1 and "malformed revocation list" in text


def test_revoking_twice_leaves_the_list_unchanged_and_says_so(issued, out):
    assert _revoke(issued, out)[0].exit_code == 0
    before = (out / "revocations.json").read_bytes()
    result, text = _revoke(issued, out, "ada", "a second reason")
    assert result.exit_code == 0, result.output
    assert "ada is already revoked" in text and REASON in text and "the list is unchanged" in text
    assert (out / "revocations.json").read_bytes() == before


def test_revoke_needs_a_reason_and_something_to_revoke(issued, out):
    result, text = _revoke(issued, out, "ada", "   ")
    assert result.exit_code == 2 and "needs --reason" in text
    result, text = _revoke(issued, out, "zoe")
    assert result.exit_code == 2 and "no certificate of zoe to revoke" in text
    assert not (out / "revocations.json").exists()
    result, text = _revoke(issued, out, "zoe", REASON, "--id", "urn:uuid:1234", "--list", out / "other.json")
    assert result.exit_code == 0 and "revoked 1 credential(s) of zoe" in text
    assert revocation.load(out / "other.json", certify.load_public_key(issued["pub"])).revoked("urn:uuid:1234")


def test_a_revoked_certificate_that_was_altered_is_refused_for_the_alteration(issued, out):
    """A revoked student cannot escape the list by editing the certificate: the signature fails first."""
    assert _revoke(issued, out)[0].exit_code == 0
    cert = out / "certificates" / "ada.json"
    doc = json.loads(cert.read_text())
    doc["payload"]["id"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
    cert.write_text(json.dumps(doc))
    result, text = _verify(issued, cert, out / "revocations.json")
    assert result.exit_code == 1 and "altered" in text


def _batch(issued, out, revocations=None):
    return certify_class(rows=[Row("ada", synthetic_report(EARNED["ada"], student="ada"))],
                         students=[Student("ada", issued["submission"], "")], course=issued["course"],
                         settings_doc={"exercises": list(POINTS), "timing": False}, out=out,
                         certify=Certify(issued["key"], revocations=revocations), console=Console(file=io.StringIO()))


def test_a_batch_does_not_certify_a_revoked_student_until_reinstated(issued, out, tmp_path):
    assert _revoke(issued, out)[0].exit_code == 0
    old = tmp_path / "old-ada.json"
    shutil.copy(out / "certificates" / "ada.json", old)
    verdict = _batch(issued, out)["ada"]
    assert verdict.status == "revoked" and REASON in verdict.line
    assert not (out / "certificates" / "ada.json").exists()
    result, text = _cli("revoke", "ada", "--reinstate", "--reason", "appeal upheld", "--key", issued["key"],
                        "--out", out)
    assert result.exit_code == 0 and "reinstated ada" in text
    verdict = _batch(issued, out)["ada"]
    assert verdict.status == "issued" and verdict.course
    listed = out / "revocations.json"
    assert _verify(issued, out / "certificates" / "ada.json", listed)[0].exit_code == 0  # new ids
    result, text = _verify(issued, old, listed)
    assert result.exit_code == 1 and REASON in text  # what was revoked stays revoked
    result, text = _cli("revoke", "ada", "--reinstate", "--reason", "again", "--key", issued["key"], "--out", out)
    assert result.exit_code == 2 and "ada is not revoked" in text


def test_load_refuses_a_list_for_a_foreign_key(issued, out, tmp_path):
    assert _revoke(issued, out)[0].exit_code == 0
    _, other_pub = certify.init_keys(tmp_path / "other")
    with pytest.raises(CertificateError, match="altered or signed by another key"):
        revocation.load(out / "revocations.json", certify.load_public_key(other_pub))


def test_a_batch_reads_the_list_named_by_revocations_which_must_exist(issued, out, tmp_path):
    elsewhere = tmp_path / "lists" / "revoked.json"
    result, _ = _revoke(issued, out, "ada", REASON, "--list", elsewhere)
    assert result.exit_code == 0 and not (out / "revocations.json").exists()
    assert _batch(issued, out)["ada"].status in ("issued", "kept")  # OUT/revocations.json: none
    assert _batch(issued, out, revocations=elsewhere)["ada"].status == "revoked"
    with pytest.raises(CertificateError, match="cannot read the revocation list"):
        _batch(issued, out, revocations=tmp_path / "missing.json")
    (tmp_path / "class" / "ada").mkdir(parents=True)
    result, text = _cli("batch", tmp_path / "class", "--course", issued["course"].root, "--out", tmp_path / "o",
                        "--certify", "--key", issued["key"], "--revocations", tmp_path / "missing.json")
    assert result.exit_code == 1 and "cannot read the revocation list" in text
    assert not (tmp_path / "o" / "reports").exists()  # refused before grading anyone
