"""Text normalisation and tokenising for the lexical index: accents off, Dutch + English stems."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

from assistant.text import lexicon

_WORD = re.compile(r"[a-z0-9]+")

STOPWORDS = lexicon.words("stopwords")


@lru_cache(maxsize=1)
def _stemmers() -> tuple[Stemmer.Stemmer, Stemmer.Stemmer]:
    return Stemmer.Stemmer("dutch"), Stemmer.Stemmer("english")


def fold(text: str) -> str:
    """Lower-case and strip accents: 'Oriënteert' → 'orienteert'."""
    if text.isascii():  # most questions: nothing to decompose (several calls per question)
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def all_words(text: str) -> list[str]:
    """Folded words, stop words included."""
    return _WORD.findall(fold(text))


def words(text: str) -> list[str]:
    """Folded words, without stop words."""
    return [w for w in all_words(text) if w not in STOPWORDS]


def word_count(text: str) -> int:
    """How many words a text has, stop words included: how long it looks to whoever typed it."""
    return len(all_words(text))


def stems(text: str, lang: str) -> frozenset[str]:
    """The stems of a text's words by one language's stemmer (stop words and numbers left out):
    'the definitions' and 'definition' give the same set."""
    stemmer = _stemmers()[0 if lang == "nl" else 1]
    return frozenset(stemmer.stemWords([w for w in words(text) if not any(c.isdigit() for c in w)]))


def analyze(text: str) -> list[str]:
    """BM25 tokens: each word's Dutch and English stems (the text may be either language)."""
    nl, en = _stemmers()
    ws = words(text)
    out = nl.stemWords(ws)
    out.extend(s for s, w in zip(en.stemWords(ws), list(out), strict=True) if s != w)
    return out
