"""The app's interface texts, one data file per language (`texts/en.yaml`, `texts/nl.yaml`),
and the small rules that pick the interface and answer language from the picker."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import yaml

LANGUAGES = ("en", "nl")
LANG_CHOICES = ("auto", "nl", "en")


@cache
def _load() -> dict[str, dict[str, Any]]:
    folder = files("assistant.ui") / "texts"
    return {lang: yaml.safe_load((folder / f"{lang}.yaml").read_text(encoding="utf-8")) for lang in LANGUAGES}


#: every string of the interface by language: UI["nl"]["ask"]
UI: dict[str, dict[str, Any]] = _load()


def ui_lang(lang_choice: str | None, shown: str | None = None) -> str:
    """The interface language: the one picked, else (Auto) the one shown so far — the language
    of the last answer, or at first the browser's — else English."""
    if lang_choice in LANGUAGES:
        return str(lang_choice)
    return shown if shown in LANGUAGES else "en"


def browser_lang(accept_language: str | None) -> str:
    """Dutch when the browser's first preferred language is Dutch, else English."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "nl" if first.startswith("nl") else "en"


def answer_lang(lang_choice: str | None) -> str | None:
    """The `lang` argument of `Assistant.ask` for a picker value: None lets it detect."""
    choice = (lang_choice or "auto").strip().lower()
    return None if choice == "auto" else choice


def examples(role: str, lang: str) -> list[str]:
    return list(UI[lang]["examples_by_role"].get(role, UI[lang]["examples_by_role"]["student"]))
