"""Text normalisation and tokenising for the lexical index: accents off, Dutch + English stems."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[a-z0-9]+")

STOPWORDS = frozenset(
    ["de", "het", "een", "en", "of", "van", "in", "op", "te", "voor", "met", "aan", "als", "dat", "die", "dit", "deze", "er", "is", "zijn", "wordt", "worden", "bij", "door", "om", "tot", "naar", "ook", "niet", "wel", "nog", "maar", "dan", "zij", "ze", "hij", "zij", "je", "jij", "ik", "mijn", "me", "mij", "we", "wij", "ons", "onze", "u", "uw", "hun", "hen", "wat", "wie", "welke", "hoe", "waar", "wanneer", "waarom", "kan", "kunnen", "moet", "moeten", "mag", "mogen", "zal", "zullen", "heeft", "hebben", "had", "was", "waren", "hier", "daar", "al", "uit", "over", "onder", "zo", "geen", "iets", "the", "a", "an", "and", "or", "of", "to", "in", "on", "at", "for", "with", "by", "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "i", "me", "my", "we", "our", "you", "your", "he", "she", "they", "them", "their", "do", "does", "did", "have", "has", "had", "can", "could", "should", "would", "will", "shall", "may", "might", "must", "what", "who", "whom", "which", "how", "when", "where", "why", "if", "then", "than", "so", "not", "no", "yes", "there", "here", "about", "into", "out", "up", "down", "any", "some",
     # request phrasing, which says nothing of the topic ("kun je me … geven", "please tell me")
     "kun", "kunt", "wil", "wilt", "willen", "zou", "zouden", "geef", "geven", "gewoon", "eigenlijk", "even", "please", "tell", "give", "just", "actually", "really"]
)


@lru_cache(maxsize=1)
def _stemmers() -> tuple[Stemmer.Stemmer, Stemmer.Stemmer]:
    return Stemmer.Stemmer("dutch"), Stemmer.Stemmer("english")


def fold(text: str) -> str:
    """Lower-case and strip accents: 'Oriënteert' → 'orienteert'."""
    if text.isascii():  # most questions: nothing to decompose (several calls per question)
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Folded words, without stop words."""
    return [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS]


def analyze(text: str) -> list[str]:
    """BM25 tokens: each word's Dutch and English stems (the text may be either language)."""
    nl, en = _stemmers()
    ws = words(text)
    out = nl.stemWords(ws)
    out.extend(s for s, w in zip(en.stemWords(ws), list(out), strict=True) if s != w)
    return out
