"""The word lists and patterns of assistant/lexicon.yaml, loaded once, as sets and regexes."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

import yaml


@cache
def _data() -> dict:
    return yaml.safe_load((files("assistant.text") / "lexicon.yaml").read_text(encoding="utf-8"))


def words(name: str, lang: str | None = None) -> frozenset[str]:
    """A word list (`stopwords`, `reference_words`, …); `lang` picks one language's half."""
    value = _data()[name]
    return frozenset(value[lang] if lang else value)


def alternation(name: str, prefix: str = "", suffix: str = "") -> re.Pattern[str]:
    """A list of regular expressions as one pattern: prefix(a|b|…)suffix."""
    return re.compile(prefix + "(" + "|".join(_data()[name]) + ")" + suffix)


def pattern(name: str, key: str) -> re.Pattern[str]:
    """One regular expression of a mapping (`track_words`: `duaal`, `vd`)."""
    return re.compile(_data()[name][key])

