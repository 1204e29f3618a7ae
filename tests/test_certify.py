"""Certificates (keys, signing, verifying genuine, altered, foreign and malformed ones) and summary.html."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from grader.certify import certificate as certify
from grader.cli import app
from grader.grading.results import CheckResult, ExerciseResult, Report
from grader.outputs.summary import check_pass_rates, write_summary

runner = CliRunner()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    out = tmp_path_factory.mktemp("keys")
    result = runner.invoke(app, ["keys", "init", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "grader.key", out / "grader.pub"


@pytest.fixture(scope="module")
def solution_report(grader):
    return grader.grade(ROOT / "solutions", name="ada", only=["sigmoid"])


def test_private_key_is_owner_only_and_not_overwritten(keys):
    key, pub = keys
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PUBLIC KEY" in pub.read_bytes()
    again = runner.invoke(app, ["keys", "init", "--out", str(key.parent)])
    assert again.exit_code != 0 and "refusing to overwrite" in again.output


def _issue(report, course, keys, tmp_path, pass_mark=50.0):
    return certify.issue(report, course, "ada", ROOT / "solutions", certify.load_private_key(keys[0]), pass_mark,
                         tmp_path, exercise_ids=["sigmoid"])


def test_genuine_certificate_verifies(solution_report, course, keys, tmp_path):
    cert = _issue(solution_report, course, keys, tmp_path)
    assert cert == tmp_path / "certificates" / "ada.json"
    result = runner.invoke(app, ["verify", str(cert), "--public-key", str(keys[1])])
    assert result.exit_code == 0, result.output
    assert "genuine" in result.output and "ada" in result.output
    payload = json.loads(cert.read_text())["payload"]
    assert payload["exercise_set_sha256"] == certify.exercise_set_hash(course, ["sigmoid"])
    assert payload["submission_sha256"] == certify.submission_hash(ROOT / "solutions")
    assert [x["id"] for x in payload["exercises"]] == ["sigmoid"]
    page = cert.with_suffix(".html").read_text()
    assert "grade verify ada.json --public-key grader.pub" in page and "ada" in page


@pytest.mark.parametrize("field,value", [("score", 999), ("student", "mallory"), ("pass_mark", 0.0),
                                         ("exercise_set_sha256", "0" * 64)])
def test_altered_certificate_fails(solution_report, course, keys, tmp_path, field, value):
    cert = _issue(solution_report, course, keys, tmp_path)
    doc = json.loads(cert.read_text())
    doc["payload"][field] = value
    cert.write_text(json.dumps(doc))
    result = runner.invoke(app, ["verify", str(cert), "--public-key", str(keys[1])])
    assert result.exit_code == 1
    assert "altered" in result.output


def test_certificate_signed_by_another_key_fails(solution_report, course, keys, tmp_path):
    other = tmp_path / "other"
    certify.init_keys(other)
    cert = certify.issue(solution_report, course, "ada", ROOT / "solutions",
                         certify.load_private_key(other / "grader.key"), 50.0, tmp_path)
    result = runner.invoke(app, ["verify", str(cert), "--public-key", str(keys[1])])
    assert result.exit_code == 1 and "another key" in result.output


@pytest.mark.parametrize("text", ["not json", "{}", json.dumps({"schema": "grade-certificate/1", "payload": {}}),
                                  json.dumps({"schema": "grade-certificate/1", "payload": {"student": "x"},
                                              "signature": "!!"})])
def test_malformed_certificate_fails(keys, tmp_path, text):
    cert = tmp_path / "c.json"
    cert.write_text(text)
    result = runner.invoke(app, ["verify", str(cert), "--public-key", str(keys[1])])
    assert result.exit_code == 1 and "malformed" in result.output


def test_no_certificate_below_pass_mark(course, keys, tmp_path):
    ex = ExerciseResult("sigmoid", "Sigmoid", 4, 10, None, ())
    low = Report("bob", "cpu", "0.1.0", 4, 10, "2026-01-01T00:00:00+00:00", 1.0, (ex,))
    assert _issue(low, course, keys, tmp_path, pass_mark=50.0) is None
    assert not (tmp_path / "certificates").exists()


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
    write_summary(_class(), page, "Test course", errors={"dan": "not a zip"})
    text = page.read_text()
    assert text.count("data:image/png;base64,") >= 3 and "<script src" not in text
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert 'data-rendered="true"' in dom.stdout, dom.stderr[-2000:]
    assert "dan" in dom.stdout and "not a zip" in dom.stdout


def test_batch_certifies_only_students_at_the_pass_mark(keys, tmp_path):
    class_dir = tmp_path / "class"
    shutil.copytree(ROOT / "solutions" / "sigmoid", class_dir / "ada" / "sigmoid")
    shutil.copytree(ROOT / "exercises" / "sigmoid", class_dir / "bob" / "sigmoid")
    out = tmp_path / "out"
    args = ["--course", str(ROOT), "batch", str(class_dir), "--out", str(out), "-e", "sigmoid", "--no-timing",
            "--workers", "1", "--certify", "--key", str(keys[0]), "--pass-mark", "80"]
    result = runner.invoke(app, args, env={"COLUMNS": "150"})
    assert result.exit_code == 0, result.output
    assert (out / "certificates" / "ada.json").is_file() and (out / "certificates" / "ada.html").is_file()
    assert not (out / "certificates" / "bob.json").exists()
    verified = runner.invoke(app, ["verify", str(out / "certificates" / "ada.json"), "--public-key", str(keys[1])])
    assert verified.exit_code == 0, verified.output
    page = (out / "summary.html").read_text()
    assert "ada" in page and "bob" in page and "data:image/png;base64," in page


def test_batch_certify_needs_a_readable_key(tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    result = runner.invoke(app, ["--course", str(ROOT), "batch", str(tmp_path / "class"), "--out", str(tmp_path / "o"),
                                 "--certify", "--key", str(tmp_path / "missing.key")])
    assert result.exit_code == 2 and "cannot read the signing key" in result.output
