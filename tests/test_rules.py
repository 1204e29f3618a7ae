"""Certification rules: per-track pass marks, required exercises, the course certificate, partial ones."""

from __future__ import annotations

import pytest

from certify_support import POINTS, RULES, make_course, synthetic_report
from grader.certify.rules import criteria, decide, load_rules
from grader.course.discover import load_course
from grader.errors import GraderError
from grader.grading.results import track_totals

report = synthetic_report


@pytest.fixture()
def course(tmp_path):
    return load_course(make_course(tmp_path / "course"))


def test_rules_are_read_per_track(course):
    rules = load_rules(course)
    assert [(t.track, t.pass_mark, t.required) for t in rules.tracks] == [
        ("foundations", 60.0, ("mlp_backward",)), ("large-models", 70.0, ("attention",))]
    assert rules.course == ("foundations", "large-models") and rules.partial
    assert rules.issuer.name == "Test Academy" and rules.issuer.url == "https://academy.example.org"
    assert "60%" in criteria(rules.track("foundations")) and "mlp_backward" in criteria(rules.track("foundations"))


@pytest.mark.parametrize("earned,certified,course_cert", [
    ({ex: 1.0 for ex in POINTS}, ("foundations", "large-models"), True),
    # 55% of all points, with no attention: the old single pass mark of 50% certified all of this
    ({"sigmoid": 1, "mse_loss": 1, "mlp_backward": 1, "softmax": 1}, ("foundations",), False),
    # large-models at 81% but attention wrong: required exercises are not optional
    ({"softmax": 1, "multihead_attention": 1, "attention": 0.5, "sigmoid": 1, "mse_loss": 1}, (), False),
    # foundations at exactly 60% with mlp_backward correct: the mark is inclusive
    ({"mlp_backward": 1}, ("foundations",), False),
    # large-models at 59% (softmax and attention): below its own mark of 70%
    ({"softmax": 1, "attention": 1, "mlp_backward": 1, "sigmoid": 1, "mse_loss": 1}, ("foundations",), False),
])
def test_tracks_are_certified_by_their_own_rules(course, earned, certified, course_cert):
    decision = decide(report(earned), load_rules(course), "s")
    assert decision.certified == certified
    assert decision.course is course_cert


def test_a_short_reason_says_why(course):
    d = decide(report({"softmax": 1, "multihead_attention": 1, "attention": 0.5}), load_rules(course), "s")
    assert d.reason == "none: foundations: 0.0% < 60%; mlp_backward not correct; large-models: attention not correct"


def test_partial_false_gives_nothing_short_of_the_course(tmp_path):
    course = load_course(make_course(tmp_path / "c", RULES.replace("partial = true", "partial = false")))
    rules = load_rules(course)
    assert decide(report({"mlp_backward": 1, "sigmoid": 1}), rules, "s").certified == ()
    assert decide(report({ex: 1.0 for ex in POINTS}), rules, "s").course


def test_a_track_not_graded_in_full_is_not_certified(course):
    d = decide(report({ex: 1.0 for ex in POINTS}, missing=("mse_loss",)), load_rules(course), "s")
    assert d.certified == ("large-models",) and not d.course
    assert "foundations not assessed" in d.tracks[0].reason


def test_pass_mark_override_replaces_every_track_mark(course):
    earned = {"mlp_backward": 1}  # foundations 60%
    assert decide(report(earned), load_rules(course, pass_mark=61), "s").certified == ()
    assert decide(report(earned), load_rules(course, pass_mark=60), "s").certified == ("foundations",)
    assert load_rules(course, pass_mark=61).digest() != load_rules(course).digest()


def test_track_totals_add_up_per_track():
    totals = {t.track: t for t in track_totals(report({"sigmoid": 1, "attention": 0.5}))}
    assert (totals["foundations"].score, totals["foundations"].max_score) == (4, 20)
    assert (totals["large-models"].score, totals["large-models"].max_score) == (5, 27)


@pytest.mark.parametrize("rules,message", [
    ("[tool.grade.certificate]\npass_mark = 120\n", "invalid pass_mark 120"),
    ("[tool.grade.certificate]\ncourse = ['foundations', 'nope']\n", "unknown track 'nope'"),
    ("[tool.grade.certificate.tracks.foundations]\nrequired = ['attention']\n", "is not an exercise of track foundations"),
    ("[tool.grade.certificate.tracks.foundations]\npassmark = 60\n", "unknown key 'passmark'"),
    ("[tool.grade.certificate]\nmark = 60\n", "unknown key 'mark'"),
    ("[tool.grade.certificate.issuer]\nid = 'not a uri'\n", "invalid issuer id"),
    ("[tool.grade.certificate]\npartial = 'yes'\n", "invalid partial"),
])
def test_bad_rules_say_where(tmp_path, rules, message):
    course = load_course(make_course(tmp_path / "c", rules))
    with pytest.raises(GraderError, match=message):
        load_rules(course)


def test_without_rules_every_track_needs_half_its_points(tmp_path):
    course = load_course(make_course(tmp_path / "c", ""))
    rules = load_rules(course)
    assert [(t.track, t.pass_mark, t.required) for t in rules.tracks] == [("foundations", 50.0, ()),
                                                                          ("large-models", 50.0, ())]
    assert rules.course == ("foundations", "large-models") and rules.issuer.name == "Test Course"
