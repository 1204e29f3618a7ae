"""The course in Chinese: every statement has README.zh.md with the same formulas, code and examples.

Only prose is translated. Fenced code blocks, inline code spans and ``$`` formulas must appear in the
Chinese statement exactly as in the English one, in the same order; the sections tools look for are
there under the headings the translation keeps.
"""

from __future__ import annotations

import re

import pytest

from conftest import ROOT

FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE = re.compile(r"`[^`]+`", re.S)  # a span may run over a line break, as Markdown allows
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.S)


def _ids() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "exercises").glob("*/exercise.toml"))


def literal_parts(text: str) -> tuple[list[str], list[str], list[str]]:
    """(fenced blocks, inline code spans, formulas) of a statement, in order."""
    fences = FENCE.findall(text)
    prose = FENCE.sub("", text)
    return fences, INLINE.findall(prose), MATH.findall(INLINE.sub("", prose))


@pytest.mark.parametrize("exercise", _ids())
def test_chinese_statement_keeps_every_formula_and_code_block(exercise):
    english = (ROOT / "exercises" / exercise / "README.md").read_text(encoding="utf-8")
    path = ROOT / "exercises" / exercise / "README.zh.md"
    assert path.is_file(), f"{exercise} has no README.zh.md"
    chinese = path.read_text(encoding="utf-8")
    for what, en, zh in zip(("code blocks", "inline code", "formulas"), literal_parts(english), literal_parts(chinese)):
        assert zh == en, f"{exercise}: the {what} of README.zh.md differ from README.md's"
    assert chinese.startswith("# ") and "## 接口约定 (Contract)" in chinese and "## 常见错误 (Pitfalls)" in chinese
    assert re.search(r"[\u4e00-\u9fff]", chinese), f"{exercise}: README.zh.md holds no Chinese"


def test_the_comparison_catches_a_changed_formula():
    english = "# T\n\nUse `x.sum(-1)` and $a^2$.\n\n```python\ny = 1\n```\n"
    assert literal_parts(english) != literal_parts(english.replace("`x.sum(-1)`", "`x.sum(0)`"))
    assert literal_parts(english) != literal_parts(english.replace("$a^2$", "$a^3$"))
    assert literal_parts(english) != literal_parts(english.replace("y = 1", "y = 2"))
    assert literal_parts(english) == literal_parts(english.replace("Use", "用"))
