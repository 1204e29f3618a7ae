"""The similarity screen: disguised copies caught, honest answers and shared scaffolding not, reports, clearing.

The class is certify_support's: ada (the reference), ben (ada renamed, reordered, comments and
docstrings rewritten, as a zip), cai and dee (answers written independently), eve (a wrong
attention). Only mlp_backward, attention and multihead_attention are long enough to judge.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from certify_support import make_class, make_course, put
from conftest import ROOT
from grader.certify import similarity
from grader.certify.similarity import DEFAULT_THRESHOLD, MIN_CHARS, parse_clear, screen
from grader.certify.similarity_report import write_reports
from grader.cli import app
from grader.course.discover import load_course
from grader.errors import GraderError

runner = CliRunner()
JUDGED = ["mlp_backward", "attention", "multihead_attention"]


def students_of(folder: Path) -> dict[str, Path]:
    return {p.name.removesuffix(".zip"): p for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("similar")
    course = load_course(make_course(tmp / "course"))
    folder = make_class(tmp / "class")
    return course, folder, screen(course=course, submissions=students_of(folder))


def _pair(s, exercise, a, b):
    return next(m for m in s.matches if m.exercise == exercise and {m.a, m.b} == {a, b})


@pytest.mark.parametrize("exercise", JUDGED)
def test_a_disguised_copy_is_flagged(klass, exercise):
    _, folder, s = klass
    with zipfile.ZipFile(folder / "ben.zip") as z:  # the copy really is disguised
        copied = z.read(f"homework/{exercise}/{exercise}.py").decode()
    assert copied != (folder / "ada" / exercise / f"{exercise}.py").read_text()
    assert "My own implementation." in copied and "# and that is the answer" in copied
    m = _pair(s, exercise, "ada", "ben")
    assert m.judged and m.score >= DEFAULT_THRESHOLD, m
    assert m in s.flagged()


def test_honest_pairs_stay_below_the_threshold(klass):
    _, _, s = klass
    honest = [m for m in s.matches if m.judged and {m.a, m.b} != {"ada", "ben"}]
    assert len(honest) >= 10  # cai, dee and eve against each other and against ada and ben
    assert max(m.score for m in honest) < DEFAULT_THRESHOLD, max(honest, key=lambda m: m.score)
    assert {frozenset((m.a, m.b)) for m in s.flagged()} == {frozenset(("ada", "ben"))}


def test_held_students_are_the_copy_pair_with_a_reason(klass):
    _, _, s = klass
    held = s.held()
    assert sorted(held) == ["ada", "ben"]
    assert re.fullmatch(r"held: similar to ben in \w+ \(\d+% ≥ 50%\); clear with --clear ada,ben", held["ada"])


def test_a_short_exercise_is_never_judged(klass):
    _, _, s = klass
    sigmoid = [m for m in s.matches if m.exercise == "sigmoid"]
    assert sigmoid and all(not m.judged and m.chars_a < MIN_CHARS for m in sigmoid)
    assert not any(m.exercise == "sigmoid" for m in s.flagged())  # everyone writes the one-liner alike


def _bpe_with_own_lines(decode_body: str, helper: str) -> str:
    stub = (ROOT / "exercises" / "bpe" / "bpe.py").read_text()
    last = stub.rindex("    raise NotImplementedError\n")
    return stub[:last] + decode_body + stub[last + len("    raise NotImplementedError\n"):] + "\n\n" + helper


STUB_PLUS_P = _bpe_with_own_lines('''    data = b"".join(vocab[i] for i in ids)
    return data.decode("utf-8", errors="replace")
''', '''def pair_counts(words):
    if not words:
        return {}
    counts = {}
    for word, n in words.items():
        for a, b in zip(word, word[1:]):
            counts[(a, b)] = counts.get((a, b), 0) + n
    return counts
''')
STUB_PLUS_R = _bpe_with_own_lines('''    out = bytearray()
    for token in ids:
        out += vocab[token]
    return bytes(out).decode(errors="replace")
''', '''def split_specials(text, specials):
    if not specials:
        return [text]
    pattern = "|".join(re.escape(s) for s in sorted(specials, key=len, reverse=True))
    return [piece for piece in re.split(pattern, text) if piece]
''')


def test_the_stub_is_boilerplate(course, tmp_path, monkeypatch):
    """bpe's stub (the pre-tokeniser and three signatures) is most of two students' files: kept as it is,
    with a few lines of their own each, they are not flagged; were the stub counted, they would be."""
    put(tmp_path / "p", "bpe", STUB_PLUS_P)
    put(tmp_path / "r", "bpe", STUB_PLUS_R)
    subs = {"p": tmp_path / "p", "r": tmp_path / "r"}
    (m,) = screen(course=course, submissions=subs, exercise_ids=["bpe"]).matches
    assert m.judged and m.score < DEFAULT_THRESHOLD, m
    monkeypatch.setattr(similarity, "boilerplate", lambda exercise: [])
    (counted,) = screen(course=course, submissions=subs, exercise_ids=["bpe"]).matches
    assert counted.score >= DEFAULT_THRESHOLD and counted.chars_a > m.chars_a + 200, counted


def test_an_unchanged_stub_is_not_compared(course, tmp_path):
    for name in ("p", "r"):
        shutil.copytree(ROOT / "exercises" / "bpe", tmp_path / name / "bpe")
    s = screen(course=course, submissions={"p": tmp_path / "p", "r": tmp_path / "r"}, exercise_ids=["bpe"])
    assert s.matches == () and s.held() == {}


def test_the_statements_code_is_boilerplate(course, tmp_path):
    """data_split's statement shows the first lines of the answer: they count for nobody."""
    (exercise,) = course.select(["data_split"])
    texts = similarity.boilerplate(exercise)
    assert len(texts) == 2 and "torch.randperm(n, generator=g)" in texts[1]
    stub = exercise.stub.read_text()
    pasted = stub.replace("    raise NotImplementedError\n",
                          "".join(f"    {line}\n" for line in texts[1].splitlines())
                          + "    return perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]\n")
    prints = similarity._Fingerprints(exercise)
    stub_only = similarity._Fingerprints(exercise)
    stub_only.boiler = stub_only._print(stub).hashes
    assert len(prints.of(pasted).hashes) < len(stub_only.of(pasted).hashes)
    assert not prints.of(pasted).hashes & prints._print(texts[1]).hashes


def test_reports_rank_pairs_and_mark_the_matching_code(klass, tmp_path):
    course, folder, s = klass
    page, table = write_reports(s, tmp_path, course.title)
    rows = list(csv.DictReader(io.StringIO(table.read_text())))
    assert len(rows) == len(s.matches)
    judged = [r for r in rows if r["judged"] == "true"]
    assert rows[:len(judged)] == judged  # judged pairs first, then the ones too short to judge
    scores = [float(r["score"]) for r in judged]
    assert scores == sorted(scores, reverse=True)
    assert [(r["student_a"], r["student_b"], r["flagged"]) for r in rows[:3]] == [("ada", "ben", "true")] * 3
    assert all(r["flagged"] == "false" for r in rows[3:]) and all(r["cleared"] == "false" for r in rows)

    text = page.read_text()
    flagged = text[text.index("<div id=flagged>"):text.index("<h2>By exercise</h2>")]
    assert flagged.count("<details class='flagged'>") == 3 and flagged.count("<mark>") >= 6
    with zipfile.ZipFile(folder / "ben.zip") as z:
        ben = z.read("homework/mlp_backward/mlp_backward.py").decode()
    renamed = sorted(set(re.findall(r"\b(?:val|tmp|my|cur|acc)_\w+\d+\b", ben)))
    assert renamed and all(name in text for name in renamed)  # ben's code, as ben wrote it
    ada = (folder / "ada" / "mlp_backward" / "mlp_backward.py").read_text()
    assert html.escape(ada.splitlines()[0]) in text  # and ada's
    assert "id=threshold>50%" in text and "<td>ada</td><td>held: similar to ben" in text
    for ex in s.exercises:
        assert f"<h3 id='ex-{ex}'>" in text


def test_clearing_a_pair_or_a_file_of_pairs_lifts_the_hold(klass, tmp_path):
    _, folder, s = klass
    assert dataclasses.replace(s, cleared=parse_clear(["ada,ben"])).held() == {}
    assert sorted(dataclasses.replace(s, cleared=parse_clear(["cai,dee"])).held()) == ["ada", "ben"]
    listed = tmp_path / "cleared.txt"
    listed.write_text("# confirmed after a talk with both\nada ben  # same study group, separate work\n")
    assert parse_clear([str(listed)]) == (frozenset({"ada", "ben"}),)
    by_file = screen(course=klass[0], submissions=students_of(folder), exercise_ids=["mlp_backward"],
                     cleared=parse_clear([str(listed)]))
    assert by_file.flagged() and by_file.held() == {}
    assert all(by_file.is_cleared(m) for m in by_file.flagged())
    alone = screen(course=klass[0], submissions=students_of(folder), exercise_ids=["mlp_backward"],
                   cleared=parse_clear(["ada"]))  # one name: that student in every pair
    assert alone.held() == {}
    page, table = write_reports(by_file, tmp_path, "t")
    assert "<details class='cleared'>" in page.read_text()
    assert any(r["cleared"] == "true" for r in csv.DictReader(io.StringIO(table.read_text())))


def test_a_threshold_outside_zero_to_one_is_refused(klass):
    course, folder, _ = klass
    with pytest.raises(GraderError, match="invalid similarity threshold 1.5"):
        screen(course=course, submissions=students_of(folder), threshold=1.5)


def _similar(*args):
    result = runner.invoke(app, ["similar", *map(str, args)])
    return result, " ".join(result.output.split())


def test_grade_similar_flags_the_copy_and_writes_the_reports(klass, tmp_path):
    course, folder, _ = klass
    result, text = _similar(folder, "--course", course.root, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output  # a screen, not a verdict: flagged pairs are no error
    assert text.count("ada ↔ ben") == 3 and "held" in text
    assert "5 students" in text and "3 flagged, 2 students held" in text
    assert (tmp_path / "out" / "similarity.html").is_file() and (tmp_path / "out" / "similarity.csv").is_file()
    cleared, text = _similar(folder, "--course", course.root, "--out", tmp_path / "out", "--clear", "ada,ben")
    assert cleared.exit_code == 0 and "3 flagged, 0 students held" in text and "cleared" in text
    strict, text = _similar(folder, "--course", course.root, "--out", tmp_path / "o2", "--similarity-threshold", "0.1",
                            "-e", "multihead_attention")
    assert strict.exit_code == 0 and "cai ↔ eve" in text and "pairs at or above 10%" in text


@pytest.mark.parametrize("args,message", [
    (["--similarity-threshold", "0"], "invalid similarity threshold 0"),
    (["-e", "nope"], "nope"),
])
def test_grade_similar_refuses_bad_options(klass, tmp_path, args, message):
    course, folder, _ = klass
    result, text = _similar(folder, "--course", course.root, "--out", tmp_path, *args)
    assert result.exit_code == 2 and message in text, result.output


def test_grade_similar_needs_a_folder_of_submissions(klass, tmp_path):
    result, text = _similar(tmp_path / "missing", "--course", klass[0].root, "--out", tmp_path)
    assert result.exit_code == 2 and "is not a folder" in text


def test_a_broken_zip_is_reported_and_the_others_still_screened(klass, tmp_path):
    course, folder, _ = klass
    shutil.copytree(folder, tmp_path / "class")
    (tmp_path / "class" / "zed.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    s = screen(course=course, submissions=students_of(tmp_path / "class"))
    assert "zed.zip is not a readable zip archive" in s.unreadable["zed"]
    assert sorted(s.held()) == ["ada", "ben"] and not any("zed" in (m.a, m.b) for m in s.matches)
    result, text = _similar(tmp_path / "class", "--course", course.root, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "not screened: zed: zed.zip is not a readable zip archive" in text and "6 students" in text
    assert "zed.zip is not a readable zip archive" in (tmp_path / "out" / "similarity.html").read_text()
