"""Certificates (keys, issuing by the rules, verifying genuine, altered, foreign and malformed ones) and summary.html."""

from __future__ import annotations

import copy
import io
import json
import shutil
import stat
import subprocess
import sys

import pytest
from rich.console import Console
from typer.testing import CliRunner

from certify_support import POINTS, make_course, synthetic_report
from conftest import ROOT
from grader.batch.certification import Certify, certify_class
from grader.batch.roster import Student
from grader.certify import certificate as certify
from grader.certify import issuing
from grader.certify.rules import decide, load_rules
from grader.cli import app
from grader.course.discover import load_course
from grader.grading.results import CheckResult, ExerciseResult, Report
from grader.outputs.gradebook import Row
from grader.outputs.summary import check_pass_rates, write_summary

runner = CliRunner()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FULL = {ex: 1.0 for ex in POINTS}
FOUNDATIONS_ONLY = {"sigmoid": 1.0, "mse_loss": 1.0, "mlp_backward": 1.0}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    out = tmp_path_factory.mktemp("keys")
    result = runner.invoke(app, ["keys", "init", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "grader.key", out / "grader.pub"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The two-track course of certify_support and its rules."""
    course = load_course(make_course(tmp_path_factory.mktemp("course") / "course"))
    return course, load_rules(course)


def _issue(small, key_path, out, earned=FULL, student="ada"):
    course, rules = small
    report = synthetic_report(earned, student=student)
    return issuing.issue(decision=decide(report, rules, student), report=report, course=course, rules=rules,
                         submission=ROOT / "solutions" / "sigmoid", private_key=certify.load_private_key(key_path),
                         out=out, exercise_ids=list(POINTS), timing=False)


def _verify(path, pub):
    return runner.invoke(app, ["verify", str(path), "--public-key", str(pub)])


def test_private_key_is_owner_only_and_not_overwritten(keys):
    key, pub = keys
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PUBLIC KEY" in pub.read_bytes()
    again = runner.invoke(app, ["keys", "init", "--out", str(key.parent)])
    assert again.exit_code != 0 and "refusing to overwrite" in again.output


def test_genuine_certificate_verifies(small, keys, tmp_path):
    cert, kept = _issue(small, keys[0], tmp_path)
    assert cert == tmp_path / "certificates" / "ada.json" and not kept
    result = _verify(cert, keys[1])
    assert result.exit_code == 0, result.output
    assert "genuine" in result.output and "ada" in result.output and "the course" in result.output
    document = json.loads(cert.read_text())
    assert document["schema"] == "grade-certificate/2"
    payload = document["payload"]
    assert [(t["track"], t["percent"], t["pass_mark"]) for t in payload["tracks"]] == [
        ("foundations", 100.0, 60.0), ("large-models", 100.0, 70.0)]
    assert payload["course_certificate"] is True
    assert payload["exercise_set_sha256"] == certify.exercise_set_hash(small[0], list(POINTS))
    assert payload["submission_sha256"] == certify.submission_hash(ROOT / "solutions" / "sigmoid")
    assert payload["rules_sha256"] == small[1].digest()
    assert sorted(payload["credentials"]) == ["course", "foundations", "large-models"]
    for name in payload["credentials"]:
        assert _verify(tmp_path / "certificates" / "openbadges" / "ada" / f"{name}.jwt", keys[1]).exit_code == 0
    page = cert.with_suffix(".html").read_text()
    assert "grade verify ada.json --public-key grader.pub" in page and "Certificate of Completion" in page
    # issued again on the same verdict: the same files are kept, not minted anew
    again, kept = _issue(small, keys[0], tmp_path)
    assert kept and json.loads(again.read_text()) == document


def test_a_partial_certificate_names_only_the_tracks_passed(small, keys, tmp_path):
    cert, _ = _issue(small, keys[0], tmp_path, earned=FOUNDATIONS_ONLY, student="dee")
    payload = json.loads(cert.read_text())["payload"]
    assert [t["track"] for t in payload["tracks"]] == ["foundations"] and payload["course_certificate"] is False
    assert sorted(p.name for p in (tmp_path / "certificates" / "openbadges" / "dee").iterdir()) == ["foundations.jwt"]
    assert "Certificate of Achievement" in cert.with_suffix(".html").read_text()
    result = _verify(cert, keys[1])
    assert result.exit_code == 0 and "the tracks" in result.output and "large-models" not in result.output


def _set_percent(p):
    p["tracks"][1]["percent"] = 99.0


@pytest.mark.parametrize("change", [
    lambda p: p.update(score=999), lambda p: p.update(student="mallory"), _set_percent,
    lambda p: p.update(course_certificate=False), lambda p: p.update(exercise_set_sha256="0" * 64),
    lambda p: p["credentials"].update(course="urn:uuid:00000000-0000-0000-0000-000000000000"),
], ids=["score", "student", "track percent", "course_certificate", "exercise_set_sha256", "credentials"])
def test_altered_certificate_fails(small, keys, tmp_path, change):
    cert, _ = _issue(small, keys[0], tmp_path)
    doc = json.loads(cert.read_text())
    before = copy.deepcopy(doc)
    change(doc["payload"])
    assert doc != before
    cert.write_text(json.dumps(doc))
    result = _verify(cert, keys[1])
    assert result.exit_code == 1
    assert "altered" in result.output


def test_certificate_signed_by_another_key_fails(small, keys, tmp_path):
    certify.init_keys(tmp_path / "other")
    cert, _ = _issue(small, tmp_path / "other" / "grader.key", tmp_path)
    result = _verify(cert, keys[1])
    assert result.exit_code == 1 and "another key" in result.output


def test_legacy_certificate_still_verifies(keys, tmp_path):
    payload = {"student": "old", "course": {"id": "c", "title": "C"}, "exercises": [], "score": 8, "max_score": 10,
               "percent": 80.0, "pass_mark": 50.0, "device": "cpu", "grader_version": "0.0.9",
               "exercise_set_sha256": "0" * 64, "submission_sha256": "1" * 64,
               "issued_at": "2025-01-01T00:00:00+00:00"}
    cert = tmp_path / "old.json"
    cert.write_text(json.dumps(certify.sign(payload, certify.load_private_key(keys[0]), certify.LEGACY_SCHEMA)))
    result = _verify(cert, keys[1])
    assert result.exit_code == 0 and "old passed C" in result.output and "pass mark 50%" in result.output


@pytest.mark.parametrize("text", ["not json", "{}", "[1, 2]",
                                  json.dumps({"schema": "grade-certificate/2", "payload": {}, "signature": "x"}),
                                  json.dumps({"schema": "grade-certificate/1", "payload": {"student": "x"},
                                              "signature": "!!"}),
                                  "aaa.bbb.ccc"])
def test_malformed_certificate_fails(keys, tmp_path, text):
    cert = tmp_path / "c.json"
    cert.write_text(text)
    result = _verify(cert, keys[1])
    assert result.exit_code == 1 and "malformed" in result.output


def test_a_certificate_with_a_signature_not_base64_is_malformed(small, keys, tmp_path):
    cert, _ = _issue(small, keys[0], tmp_path)
    doc = json.loads(cert.read_text())
    doc["signature"] = "!!not base64!!"
    cert.write_text(json.dumps(doc))
    result = _verify(cert, keys[1])
    assert result.exit_code == 1 and "not base64" in result.output


def test_no_certificate_below_the_pass_mark_and_a_stale_one_is_withdrawn(small, keys, tmp_path):
    course, rules = small
    low = synthetic_report({"sigmoid": 1.0, "mse_loss": 1.0}, student="ada")  # foundations 40% < 60%
    assert decide(low, rules, "ada").certified == ()
    cert, _ = _issue(small, keys[0], tmp_path)  # issued on an earlier, better grading
    assert cert.is_file()
    submission = tmp_path / "class" / "ada"
    shutil.copytree(ROOT / "solutions" / "sigmoid", submission / "sigmoid")
    verdicts = certify_class(rows=[Row("ada", low)], students=[Student("ada", submission, "")], course=course,
                             settings_doc={"exercises": list(POINTS), "timing": False}, out=tmp_path,
                             certify=Certify(keys[0]), console=Console(file=io.StringIO()))
    assert verdicts["ada"].status == "none" and "40.0% < 60%" in verdicts["ada"].line
    assert not cert.exists() and not cert.with_suffix(".html").exists()
    assert not (tmp_path / "certificates" / "openbadges" / "ada").exists()


def _class() -> dict[str, Report]:
    def rep(student, passed):
        checks = tuple(CheckResult(f"c{i}", "correctness", i == 2, "passed" if i < passed else "failed",
                                   1.0 if i < passed else 0.0, 1.0) for i in range(3))
        checks += (CheckResult("speed", "timing", False, "passed", 1.0, 1.0,
                               timing={"ratio": 1.0 + passed / 10, "budget": 4.0, "rounds": 9}),)
        ex = ExerciseResult("sigmoid", "Sigmoid", passed + 1.0, 4.0, None, checks)
        return Report(student, "cpu", "0.1.0", passed + 1.0, 4.0, "2026-01-01T00:00:00+00:00", 1.0, (ex,))
    return {"ada": rep("ada", 3), "bob": rep("bob", 1), "cy": rep("cy", 2)}


def test_check_pass_rates_most_failed_first():
    rows = check_pass_rates(_class())
    assert rows[0][1] == "c2" and rows[0][3:] == (1, 3)
    assert [r[1] for r in rows][-1] in ("c0", "speed")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package")
def test_summary_page_renders_in_headless_chromium(tmp_path):
    page = tmp_path / "summary.html"
    write_summary(_class(), page, "Test course", errors={"dan": "not a zip"},
                  certificates={"ada": "course: foundations", "bob": "none: foundations: 25.0% < 60%"})
    text = page.read_text()
    assert text.count("data:image/png;base64,") >= 3 and "<script src" not in text
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert 'data-rendered="true"' in dom.stdout, dom.stderr[-2000:]
    assert "dan" in dom.stdout and "not a zip" in dom.stdout
    assert "course: foundations" in dom.stdout and "25.0% &lt; 60%" in dom.stdout


def test_batch_certifies_only_students_at_the_pass_mark(keys, tmp_path):
    course = make_course(tmp_path / "course", rules="", exercises={"foundations": ["sigmoid"]})
    class_dir = tmp_path / "class"
    shutil.copytree(ROOT / "solutions" / "sigmoid", class_dir / "ada" / "sigmoid")
    shutil.copytree(ROOT / "exercises" / "sigmoid", class_dir / "bob" / "sigmoid")
    out = tmp_path / "out"
    args = ["batch", str(class_dir), "--course", str(course), "--out", str(out), "--no-timing",
            "--workers", "1", "--certify", "--key", str(keys[0]), "--pass-mark", "80"]
    result = runner.invoke(app, args, env={"COLUMNS": "150"})
    assert result.exit_code == 0, result.output
    assert "1 student certified (1 for the whole course)" in result.output
    certs = out / "certificates"
    assert (certs / "ada.json").is_file() and (certs / "ada.html").is_file()
    assert not (certs / "bob.json").exists() and not (certs / "openbadges" / "bob").exists()
    payload = json.loads((certs / "ada.json").read_text())["payload"]
    assert [(t["track"], t["pass_mark"]) for t in payload["tracks"]] == [("foundations", 80.0)]
    for path in (certs / "ada.json", certs / "openbadges" / "ada" / "foundations.jwt",
                 certs / "openbadges" / "ada" / "course.jwt"):
        verified = _verify(path, keys[1])
        assert verified.exit_code == 0, verified.output
    gradebook = (out / "gradebook.csv").read_text().splitlines()
    assert "certificate" in gradebook[0] and "track:foundations %" in gradebook[0]
    assert any(line.startswith("ada,") and "course: foundations" in line for line in gradebook)
    assert any(line.startswith("bob,") and "none: foundations: 0.0% < 80%" in line for line in gradebook)
    page = (out / "summary.html").read_text()
    assert "ada" in page and "bob" in page and "data:image/png;base64," in page
    assert "none: foundations: 0.0% &lt; 80%" in page


def test_batch_certify_needs_a_readable_key(tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    result = runner.invoke(app, ["--course", str(ROOT), "batch", str(tmp_path / "class"), "--out", str(tmp_path / "o"),
                                 "--certify", "--key", str(tmp_path / "missing.key")])
    assert result.exit_code == 2 and "cannot read the signing key" in result.output
    assert not (tmp_path / "o" / "reports").exists()  # refused before grading anyone


def test_batch_certify_needs_a_key(tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    result = runner.invoke(app, ["--course", str(ROOT), "batch", str(tmp_path / "class"), "--certify"])
    assert result.exit_code == 2 and "--certify needs --key" in result.output


def test_without_the_certify_extra_grade_works_and_certify_says_what_to_install(keys, tmp_path, monkeypatch):
    blocked = "import sys; sys.modules['copydetect'] = sys.modules['jwcrypto'] = None; sys.argv = ['grade', 'list']; "
    listed = subprocess.run([sys.executable, "-c", blocked + "from grader.cli import run; run()"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and "sigmoid" in listed.stdout, listed.stderr[-2000:]
    (tmp_path / "class" / "ada").mkdir(parents=True)
    monkeypatch.setitem(sys.modules, "copydetect", None)
    result = runner.invoke(app, ["similar", str(tmp_path / "class"), "--course", str(ROOT), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "needs copydetect: pip install 'grader[certify]'" in result.output
    monkeypatch.delitem(sys.modules, "copydetect")
    monkeypatch.setitem(sys.modules, "jwcrypto", None)
    result = runner.invoke(app, ["batch", str(tmp_path / "class"), "--course", str(ROOT), "--out", str(tmp_path / "o"),
                                 "--certify", "--key", str(keys[0])])
    assert result.exit_code == 2 and "need jwcrypto: pip install 'grader[certify]'" in result.output
    assert not (tmp_path / "o" / "reports").exists()


def test_the_pages_in_chinese(small, keys, tmp_path):
    """--lang zh: the summary page and the certificate page in Chinese; the signed document is the same."""
    from grader.certify.certificate import render_html
    from grader.outputs.summary import render

    page = render(_class(), "测试课程", errors={"dan": "not a zip"}, certificates={"ada": "course"}, lang="zh",
                  track_titles={"foundations": "基础"})
    for words in ("班级汇总", "各项检查（未通过最多的在前）", "学生人数", "中位数", "证书", "（隐藏）", 'lang="zh"'):
        assert words in page
    for english in ("class summary", "Checks, most failed first", "students:", "(hidden)", ">errors<"):
        assert english not in page
    assert "Checks, most failed first" in render(_class(), "Test course")  # English by default

    cert, _ = _issue(small, keys[0], tmp_path, earned=FOUNDATIONS_ONLY, student="dee")
    document = json.loads(cert.read_text())
    zh = render_html(document, cert.name, "zh")
    assert "成绩证书" in zh and "及格线" in zh and "用课程的公钥验证本证书" in zh and "Certificate of" not in zh
    assert "grade verify dee.json --public-key grader.pub" in zh
    assert render_html(document, cert.name) == cert.with_suffix(".html").read_text()  # English by default
