"""Reports in English and Chinese: the catalogue is complete, the Chinese report is whole, keys are stable.

The grader's own words come from ``grader/locale/<lang>/LC_MESSAGES/grader.po`` (compiled to .mo);
what the submission says (its assertion text, its exceptions) carries no key and is shown as it is.
"""

from __future__ import annotations

import ast
import gettext
import io
import json
import pickle
import re
import string

import pytest
from babel.messages.pofile import read_po
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from conftest import ROOT, make_settings
from grader.cli import app
from grader.errors import GraderError
from grader.grading.results import CheckResult, ExerciseResult, Report, report_from_dict
from grader.messages import LANGUAGES, LOCALE_DIR, Message, Translator, key_of, language_of_locale, resolve_language
from grader.outputs.ci import markdown_summary
from grader.outputs.console import write_console

runner = CliRunner()
CJK = re.compile(r"[\u4e00-\u9fff]")
# Fixed English words of the console report that a Chinese report must not show.
ENGLISH_WORDS = ("Grading", "Total", "not started", "(hidden)", "passing", "failing", "cannot be graded",
                 "isolation", "budget", "timed out", "every failed check", "exercises")


def catalogue(lang: str) -> dict[str, str]:
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "grader.po", "rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def catalogue_problems(catalogues: dict[str, dict[str, str]]) -> list[str]:
    """Keys missing from a language, empty translations, and fields a translation lacks or adds."""
    keys = set().union(*(c.keys() for c in catalogues.values()))
    problems = []
    for lang, entries in sorted(catalogues.items()):
        problems += [f"{lang} lacks {k}" for k in sorted(keys - entries.keys())]
        problems += [f"{lang}: {k} is empty" for k, v in sorted(entries.items()) if not v]
    english = catalogues["en"]
    for lang, entries in sorted(catalogues.items()):
        problems += [f"{lang}: {k} has fields {sorted(fields(v))}, English {sorted(fields(english[k]))}"
                     for k, v in sorted(entries.items()) if k in english and fields(v) != fields(english[k])]
    return problems


CALLS = ("Message", "tr", "english", "n")  # what takes a key as its first argument


def keys_in_code() -> tuple[set[str], set[str]]:
    """(every string the package's code holds, the keys it passes to Message, tr, english and tr.n);
    a counted key (``tr.n``) stands for its two forms, ``<key>.one`` and ``<key>.other``."""
    literals: set[str] = set()
    called: set[str] = set()
    for path in (ROOT / "grader").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in CALLS:
                    forms = (".one", ".other") if name == "n" else ("",)
                    called |= {f"{node.args[0].value}{form}" for form in forms}
    counted = {k.rsplit(".", 1)[0] for k in called if k.endswith((".one", ".other"))}
    return literals | {k for k in called if k.rsplit(".", 1)[0] in counted}, called


# The catalogue -------------------------------------------------------------------------------------

def test_every_key_has_english_and_chinese_with_the_same_fields():
    catalogues = {lang: catalogue(lang) for lang in LANGUAGES}
    assert catalogue_problems(catalogues) == []
    assert len(catalogues["zh"]) > 80
    # Real Chinese, not English copied over: every entry with a word in it has Chinese characters.
    untranslated = [k for k, v in catalogues["zh"].items() if re.search(r"[a-z]{3}", re.sub(r"\{[^}]*\}", "", v))
                    and not CJK.search(v)]
    assert untranslated == []


def test_a_missing_key_or_a_dropped_field_is_caught():
    catalogues = {lang: catalogue(lang) for lang in LANGUAGES}
    del catalogues["zh"]["check.wrong_answer"]
    catalogues["zh"]["worker.no_answer"] = "没有响应"  # lost {seconds}
    catalogues["en"]["report.total"] = ""
    assert catalogue_problems(catalogues) == [
        "en: report.total is empty", "zh lacks check.wrong_answer",
        "zh: worker.no_answer has fields [], English ['seconds']"]


def test_the_code_uses_exactly_the_keys_of_the_catalogue():
    named, called = keys_in_code()
    known = set(catalogue("en"))
    assert len(called) > 60
    assert sorted(called - known) == [], "keys the code uses that the catalogue lacks"
    assert sorted(known - named) == [], "keys in the catalogue that no code names"


def test_the_compiled_catalogues_match_the_po_files():
    for lang in LANGUAGES:
        with open(LOCALE_DIR / lang / "LC_MESSAGES" / "grader.mo", "rb") as f:
            compiled = gettext.GNUTranslations(f)
        stale = [k for k, v in catalogue(lang).items() if compiled.gettext(k) != v]
        assert stale == [], f"run: pybabel compile -d grader/locale -D grader ({lang}: {stale[:3]})"


def test_a_message_is_its_english_text_and_keeps_its_key_through_exceptions_and_pickle():
    inner = Message("worker.no_answer_short", {"seconds": 2.0})
    outer = Message("check.timed_out_earlier", {"function": "softmax", "reason": inner})
    assert outer == "softmax timed out in an earlier check (no answer within 2 s); it is not called again"
    assert outer.to_args() == {"function": "softmax", "reason": {"key": "worker.no_answer_short",
                                                                 "args": {"seconds": 2.0}}}
    assert Translator("zh").render(outer.key, outer.to_args()) == "softmax 在之前的检查中超时（2 秒内没有响应），不会再被调用"
    copy = pickle.loads(pickle.dumps(outer))
    assert (copy, copy.key, copy.args["reason"].key) == (outer, outer.key, "worker.no_answer_short")
    assert key_of(ValueError(outer)) == (outer.key, outer.to_args())
    assert key_of(ValueError(f"{outer}!")) == (None, None)  # a changed text is no longer the key's
    assert key_of(AssertionError("result has wrong values")) == (None, None)


def test_the_submissions_words_are_never_looked_up():
    zh = Translator("zh")
    assert zh.message("report.total", None) == "report.total"  # no key: shown as it came, even a key's name
    assert zh.message("wrong answer", "check.wrong_answer", {}) == "答案错误"
    assert Translator("en").message("as sent", "check.wrong_answer", {}) == "as sent"


# Choosing the language ---------------------------------------------------------------------------

@pytest.mark.parametrize("environ, lang", [
    ({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "zh_TW.UTF-8"}, "zh"), ({"LANG": "en_GB.UTF-8"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"), ({}, "en"), ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh")])
def test_the_locale_gives_the_default(environ, lang):
    assert language_of_locale(environ) == lang


def test_option_then_course_then_locale():
    zh_locale = {"LANG": "zh_CN.UTF-8"}
    assert resolve_language(None, {}, environ=zh_locale) == "zh"
    assert resolve_language(None, {"lang": "en"}, environ=zh_locale) == "en"
    assert resolve_language("zh", {"lang": "en"}, environ={}) == "zh"
    with pytest.raises(GraderError, match=r"unknown language 'fr' in --lang \(choose from en, zh\)"):
        resolve_language("fr", {})
    with pytest.raises(GraderError, match=r"unknown language 'de' in x/pyproject.toml \[tool.grade\] lang"):
        resolve_language(None, {"lang": "de"}, "x/pyproject.toml [tool.grade]")


def test_tool_grade_lang_reaches_the_settings(course):
    settings = make_settings(course, course_settings={**course.settings, "lang": "zh"})
    assert settings.lang == "zh"
    assert make_settings(course, course_settings={**course.settings, "lang": "zh"}, lang="en").lang == "en"
    with pytest.raises(GraderError, match="unknown language 'klingon'"):
        make_settings(course, course_settings={**course.settings, "lang": "klingon"})


def test_an_unknown_language_on_the_command_line_is_a_grader_error():
    result = runner.invoke(app, ["--course", str(ROOT), "--lang", "fr", "-e", "sigmoid"])
    assert result.exit_code == 2
    assert "unknown language 'fr' in --lang (choose from en, zh)" in result.output


# The Chinese report -------------------------------------------------------------------------------

def _keyed(status: str, key: str, args: dict, **kw) -> CheckResult:
    message = Message(key, args)
    return CheckResult(status=status, message=str(message), message_key=key, message_args=message.to_args(), **kw)


def _report() -> Report:
    sigmoid = (
        CheckResult("worked_example", "correctness", False, "passed", 1, 1),
        CheckResult("values", "correctness", False, "failed", 0, 2, "result has wrong values: 3 of 12 entries"),
        _keyed("failed", "check.wrong_answer", {}, name="dtypes", kind="correctness", hidden=True, score=0,
               max_score=1),
        _keyed("timeout", "worker.no_answer", {"seconds": 2.0}, name="big", kind="correctness", hidden=True,
               score=0, max_score=1),
        _keyed("skipped", "budget.timing.not_measured_failed", {"failed": 3}, name="speed", kind="timing",
               hidden=False, score=0, max_score=1),
    )
    softmax_error = Message("exercise.import_failed", {"exercise": "softmax", "reason": Message("worker.memory_limit",
                                                                                                {"size": "2 GiB"})})
    exercises = (
        ExerciseResult("sigmoid", "Sigmoid", 1, 6, None, sigmoid, track="foundations"),
        ExerciseResult("adam", "Adam step", 0, 9, None, (), track="foundations", attempted=False,
                       message_key="exercise.not_attempted", message_args={}),
        ExerciseResult("attention", "Scaled dot-product attention", 2, 2, None,
                       (CheckResult("worked_example", "correctness", False, "passed", 2, 2),), track="large-models"),
        ExerciseResult("softmax", "Softmax", 0, 6, str(softmax_error), (), track="large-models",
                       message_key=softmax_error.key, message_args=softmax_error.to_args()),
    )
    return Report("work", "cpu", "0.1.0", 3, 23, "2026-01-01T00:00:00+00:00", 1.5, exercises, ("pid-ns",))


def test_the_chinese_console_report_is_whole_and_its_columns_line_up(course):
    buf = io.StringIO()
    titles = {e.id: e.title_in("zh") for e in course.exercises}
    write_console(_report(), Console(file=buf, width=100, color_system=None), tr=Translator("zh"), titles=titles,
                  tracks=course.track_titles_in("zh"), verbose=True)
    text = buf.getvalue()
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[0] == "评分：work，设备 cpu，共 4 道练习（评分器 0.1.0）"
    for words in ("（隐藏）dtypes", "答案错误", "2 秒内没有响应（工作进程已被终止）", "未测量：3 项正确性检查未通过",
                  "导入 softmax/softmax.py 失败：超出内存限制（2 GiB）", "总分 3/23（13.0%），用时 1.5 秒",
                  "隔离措施：pid-ns", "未开始", "无法评分", "全部通过", "未通过 3/4", "基础", "大模型", "缩放点积注意力"):
        assert words in text, words
    assert "result has wrong values: 3 of 12 entries" in text  # the check's own words, as they came
    assert [w for w in ENGLISH_WORDS if w in text] == []
    # Chinese characters take two cells: the points column of the summary still ends in one place.
    rows = [line for line in lines if re.search(r"\s(sigmoid|adam|attention|softmax)\s", line) and "[" not in line]
    assert len(rows) == 4
    ends = {cell_len(line[:m.end()]) for line in rows for m in [re.search(r"\d+(\.\d+)?/\d+(\.\d+)?", line)]}
    assert len(ends) == 1, rows
    assert all(cell_len(line) <= 100 for line in lines)


def test_the_english_console_report_is_unchanged_by_the_keys():
    buf = io.StringIO()
    write_console(_report(), Console(file=buf, width=120, color_system=None), verbose=True)
    text = buf.getvalue()
    assert "Grading work on cpu: 4 exercises  (grader 0.1.0)" in text
    assert "(hidden) dtypes" in text and "wrong answer" in text and "no answer within 2 s (the worker was stopped)" in text
    assert "importing softmax/softmax.py failed: memory limit exceeded (2 GiB)" in text
    assert not CJK.search(text)


def test_the_chinese_markdown_summary():
    text = markdown_summary(_report(), fail_under=50, tr=Translator("zh"), titles={"attention": "缩放点积注意力"})
    assert text.startswith("### 评分：work\n")
    assert "| 练习 | 得分 | 通过 | 未通过 |" in text and "**未达到** 50% 的门槛" in text
    assert "`attention` 缩放点积注意力" in text and "`adam`: 未作答：文件缺失或仍是初始存根" in text
    assert "（隐藏）dtypes — 未通过: 答案错误" in text and "values — 未通过: result has wrong values" in text
    assert "passed" not in text and "not passed" not in text and "threshold" not in text


def test_the_json_keeps_english_messages_beside_their_keys():
    d = _report().to_dict()
    sigmoid, adam, _, softmax = d["exercises"]
    by_name = {c["name"]: c for c in sigmoid["checks"]}
    assert by_name["values"]["message_key"] is None and "message_args" not in by_name["values"]
    assert by_name["big"]["message"] == "no answer within 2 s (the worker was stopped)"
    assert (by_name["big"]["message_key"], by_name["big"]["message_args"]) == ("worker.no_answer", {"seconds": 2.0})
    assert adam["message_key"] == "exercise.not_attempted" and softmax["message_key"] == "exercise.import_failed"
    again = report_from_dict(json.loads(json.dumps(d)))
    assert again == _report()


# End to end --------------------------------------------------------------------------------------

def test_grade_lang_zh_prints_a_chinese_report_and_the_json_stays_english(tmp_path):
    sub = tmp_path / "sub"
    (sub / "sigmoid").mkdir(parents=True)
    (sub / "sigmoid" / "sigmoid.py").write_text(
        "def sigmoid(x):\n    raise ValueError('my own words')\n")
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["--course", str(ROOT), "--lang", "zh", "-s", str(sub), "-e", "sigmoid",
                                 "-e", "softmax", "--no-timing", "--json", str(out)], env={"COLUMNS": "140"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("评分：") and "总分 0/10" in text and "基础" in text and "未开始" in text
    assert "（隐藏）" in text and "计时检查已关闭（--no-timing）" in text
    assert "sigmoid raised ValueError: my own words" in text  # the submission's exception, as it came
    assert [w for w in ENGLISH_WORDS if w in text] == []
    data = json.loads(out.read_text())
    sigmoid, softmax = data["exercises"]
    assert softmax["message_key"] == "exercise.not_attempted" and softmax["attempted"] is False
    checks = sigmoid["checks"]
    timing = [c for c in checks if c["kind"] == "timing"]
    assert timing and all(c["message_key"] == "check.timing_off" and c["message"] == "timing checks are off (--no-timing)"
                          for c in timing)
    public = [c for c in checks if c["kind"] == "correctness" and not c["hidden"]]
    assert public and all(c["message_key"] is None and "my own words" in c["message"] for c in public)
    assert not CJK.search(out.read_text())


def test_the_locale_chooses_chinese_and_the_course_can_say_otherwise(tmp_path):
    args = ["--course", str(ROOT), "-e", "sigmoid", "--no-timing"]
    result = runner.invoke(app, args, env={"LANG": "zh_CN.UTF-8", "COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("评分：你的工作副本（exercises/）") and "总分" in result.output
    english = runner.invoke(app, [*args, "--lang", "en"], env={"LANG": "zh_CN.UTF-8", "COLUMNS": "120"})
    assert english.output.startswith("Grading your working copy (exercises/)") and not CJK.search(english.output)


def test_grade_list_in_chinese_shows_the_statements_titles():
    result = runner.invoke(app, ["--course", str(ROOT), "list", "--lang", "zh"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "从零构建大模型 — 46 道练习" in result.output
    assert "缩放点积注意力" in result.output and "标题" in result.output and "公开" in result.output
    english = runner.invoke(app, ["--course", str(ROOT), "list"], env={"COLUMNS": "220"})
    assert "Scaled dot-product attention" in english.output or not CJK.search(english.output)
