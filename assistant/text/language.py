"""Which language a question is in: Dutch or English, or another one we do not answer in."""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.text import lexicon
from assistant.text.tokens import fold

_NL = lexicon.words("function_words", "nl")
_EN = lexicon.words("function_words", "en")
#: py3langid's confidence above which a third language outweighs Dutch or English function
#: words; on the bank's 9,510 questions its highest for one of them is 0.69
OTHER_LANGUAGE_MIN = 0.9
_TERMS = re.compile(r"\b(" + "|".join(sorted(lexicon.words("code_terms"))) + r")\b", re.IGNORECASE)


@lru_cache(maxsize=2)
def _identifier(restricted: bool):  # type: ignore[no-untyped-def]
    """py3langid's model (shipped in the package); restricted to nl/en or over all languages."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    if restricted:
        ident.set_languages(["nl", "en"])
    return ident


def detect(text: str) -> str:
    """Return 'nl', 'en', or the ISO code of another language (e.g. 'de', 'tr', 'ar').

    Short questions mix languages ("my stage", "VOG"), so a count of Dutch and English
    function words decides first; py3langid decides when those do not.
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
