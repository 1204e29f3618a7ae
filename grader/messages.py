"""The grader's own words in English and Chinese: a gettext catalogue keyed by stable message keys.

Every fixed string the trusted side writes into a report (headings, verdicts, and the reasons it
gives itself: not attempted, timed out, over the memory limit, not run...) is a key such as
``check.no_answer`` in ``grader/locale/<lang>/LC_MESSAGES/grader.po`` (compiled to ``grader.mo``).
The msgid is the key, so English is a translation like any other and a key never changes when its
wording does. Templates are ``str.format`` strings with named fields.

A result keeps its English ``message`` (the JSON report is read by scripts) beside its
``message_key`` and ``message_args``; a writer renders it in the reader's language from the key.
What the submission says (its assertion text, its exception messages, its tracebacks) has no key
and is shown as it is: it may fill a field of a keyed message, but it is never looked up.

After editing a ``.po`` file, compile it: ``pybabel compile -d grader/locale -D grader``
(``tests/test_i18n.py`` fails while a ``.mo`` is out of date).
"""

from __future__ import annotations

import functools
import gettext
import os
from pathlib import Path
from typing import Mapping

from grader.errors import GraderError

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "grader"
LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"


class Message(str):
    """A keyed message: a ``str`` (its English text, so that it goes wherever a reason goes) that
    also knows its key and fields (a field may be a Message itself).

    An exception raised with one Message as its only argument (``WorkerFailure(kind, Message(...))``,
    ``pytest.skip(Message(...))``) keeps the key for the report: see :func:`key_of`. Anything made
    from it (a slice, an f-string) is a plain str again, as it should be: its text is no longer the
    key's.
    """

    key: str
    args: dict

    def __new__(cls, key: str, args: Mapping[str, object] | None = None) -> "Message":
        args = dict(args or {})
        self = super().__new__(cls, Translator(DEFAULT_LANGUAGE).render(key, args))
        self.key, self.args = key, args
        return self

    def __getnewargs__(self):  # pickled (batch workers send results) by key and fields, not by text
        return self.key, self.args

    def __repr__(self) -> str:
        return f"Message({self.key!r}, {self.args!r})"

    def to_args(self) -> dict:
        """The fields as JSON values: a nested Message becomes ``{"key": ..., "args": ...}``."""
        return {k: {"key": v.key, "args": v.to_args()} if isinstance(v, Message) else v
                for k, v in self.args.items()}


def key_of(exc: BaseException | None) -> tuple[str | None, dict | None]:
    """The key and fields of an exception raised with a Message as its one argument, or (None, None)."""
    args = getattr(exc, "args", ())
    if len(args) == 1 and isinstance(args[0], Message):
        return args[0].key, args[0].to_args()
    return None, None


def reason_of(exc: BaseException) -> "Message | str":
    """What an exception says, as a field of another message: its Message, or its text."""
    args = getattr(exc, "args", ())
    return args[0] if len(args) == 1 and isinstance(args[0], Message) else str(exc)


@functools.lru_cache(maxsize=None)
def _catalogue(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang])


class Translator:
    """The grader's words in one language: ``t("report.total")``, ``t.n("report.exercises", 3)``."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE):
        if lang not in LANGUAGES:
            raise GraderError(f"unknown language {lang!r} (choose from {', '.join(LANGUAGES)})")
        self.lang = lang
        self._gettext = _catalogue(lang).gettext

    def __call__(self, key: str, **args: object) -> str:
        return self.render(key, args)

    def n(self, key: str, count: int, **args: object) -> str:
        """A counted phrase: ``<key>.one`` for 1, ``<key>.other`` otherwise, with ``{count}`` filled in."""
        return self.render(f"{key}.{'one' if count == 1 else 'other'}", {"count": count, **args})

    def render(self, key: str, args: Mapping[str, object] | None = None) -> str:
        """The template of ``key`` with its fields filled in; nested keyed fields are rendered too."""
        values = {k: self.render(v["key"], v.get("args")) if _is_keyed(v) else v for k, v in (args or {}).items()}
        template = self._gettext(key)
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):  # a saved report from another grader version
            return template

    def message(self, text: str, key: str | None, args: Mapping[str, object] | None = None) -> str:
        """A result's message for the reader: rendered from its key, or the text as it came (the
        submission's own words, which no catalogue holds)."""
        if key is None or self.lang == DEFAULT_LANGUAGE:
            return text
        return self.render(key, args)


def _is_keyed(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("key"), str)


def english(key: str, **args: object) -> str:
    return Translator(DEFAULT_LANGUAGE).render(key, args)


def language_of_locale(environ: Mapping[str, str] = os.environ) -> str:
    """``zh`` where the locale says Chinese (``LC_ALL``, else ``LC_MESSAGES``, else ``LANG``), else ``en``."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def resolve_language(requested: str | None, course_settings: Mapping | None = None, where: str = "[tool.grade]",
                     environ: Mapping[str, str] = os.environ) -> str:
    """``--lang``, else ``[tool.grade] lang``, else the locale; an unknown language is a GraderError."""
    if requested is not None:
        source, lang = "--lang", requested
    elif course_settings and course_settings.get("lang") is not None:
        source, lang = f"{where} lang", str(course_settings["lang"])
    else:
        return language_of_locale(environ)
    if lang not in LANGUAGES:
        raise GraderError(f"unknown language {lang!r} in {source} (choose from {', '.join(LANGUAGES)})")
    return lang
