"""Which language a question is in: Dutch or English, or another one we do not answer in."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from assistant.text import lexicon
from assistant.text.tokens import all_words, fold

_NL = lexicon.words("function_words", "nl")
_EN = lexicon.words("function_words", "en")
#: py3langid's confidence above which a third language outweighs Dutch or English function
#: words; on the bank's 9,510 questions its highest for one of them is 0.69
OTHER_LANGUAGE_MIN = 0.9
_TERMS = re.compile(r"\b(" + "|".join(sorted(lexicon.words("code_terms"))) + r")\b", re.IGNORECASE)


#: a word counts in the vote once it was seen in this many labelled questions
WORD_SEEN_MIN = 3
#: the vote decides when one language is at least this many times likelier (as a log ratio)
WORD_MARGIN = math.log(4)


@dataclass(frozen=True)
class WordLanguages:
    """How much likelier each word is in a Dutch than in an English question, learned from
    questions labelled with their language. A message of a word or two has no function words,
    and py3langid guesses from too few letters ("stagediscriminatie" as English)."""

    log_odds: dict[str, float]

    @classmethod
    def learn(cls, examples: Iterable[tuple[str, str]]) -> WordLanguages:
        """From (text, language) pairs; each word counted once per question."""
        seen = {"nl": Counter[str](), "en": Counter[str]()}
        questions = Counter[str]()
        for text, lang in examples:
            if lang in seen:
                seen[lang].update(set(all_words(text)))
                questions[lang] += 1
        nl, en = seen["nl"], seen["en"]
        return cls({w: math.log((nl[w] + 1) / max(questions["nl"], 1)) - math.log((en[w] + 1) / max(questions["en"], 1))
                    for w in nl.keys() | en.keys() if nl[w] + en[w] >= WORD_SEEN_MIN})

    def vote(self, text: str) -> str | None:
        """'nl' or 'en' when the known words lean clearly one way, else None."""
        known = [self.log_odds[w] for w in all_words(text) if w in self.log_odds]
        total = sum(known)
        if not known or abs(total) < WORD_MARGIN:
            return None
        return "nl" if total > 0 else "en"


@lru_cache(maxsize=2)
def _identifier(restricted: bool):  # type: ignore[no-untyped-def]
    """py3langid's model (shipped in the package); restricted to nl/en or over all languages."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    if restricted:
        ident.set_languages(["nl", "en"])
    return ident


def detect(text: str, vocabulary: WordLanguages | None = None) -> str:
    """Return 'nl', 'en', or the ISO code of another language (e.g. 'de', 'tr', 'ar').

    Short questions mix languages ("my stage", "VOG"), so a count of Dutch and English
    function words decides first; for a message of a word or two, then the words' languages in
    `vocabulary`; py3langid decides when those do not.
    """
    tokens = fold(text).replace("?", " ").split()
    nl = sum(t in _NL for t in tokens)
    en = sum(t in _EN for t in tokens)
    if abs(nl - en) >= 2 or (nl + en >= 1 and (nl == 0 or en == 0) and len(tokens) <= 4):
        if en >= nl:
            return "en"
        # German shares "wie", "als", "was" with Dutch: a third language py3langid is sure of
        # wins (on the bank's questions it is never that sure of one)
        lang, prob = _identifier(False).classify(text)
        return str(lang) if lang not in ("nl", "en") and prob >= OTHER_LANGUAGE_MIN else "nl"
    if vocabulary is not None and len(tokens) <= 2 and (voted := vocabulary.vote(text)):
        return voted
    # in a question with English words, the code's own Dutch terms say nothing of its language
    rest = _TERMS.sub(" ", text) if en else text
    text = rest if any(ch.isalpha() for ch in rest) else text
    lang, prob = _identifier(False).classify(text)
    if lang in ("nl", "en"):
        return str(lang)
    if prob > 0.7 and nl + en <= 1:
        return str(lang)
    # mixed or low-confidence text: choose between our two languages
    return str(_identifier(True).classify(text)[0])
