"""The citation guard: deterministic checks of a generated answer against the provisions it was given.

`check(text, sources)` returns the violations (an empty list means the answer may be shown):

- `unknown_id`: a bracketed citation, or a provision id named in the text, that is not among
  the provisions the model was given;
- `no_citation`: the answer cites nothing at all;
- `misquote`: a quoted passage that is not word for word in a given provision's Dutch text or
  English rendering, or in the question (case, white space and the typographic form of quotes
  and dashes ignored; an ellipsis may leave words out). Double quotes always quote; single
  quotes quote a passage of four words or more, and otherwise name a term ('Internship code');
- `unsupported_number`: a number, amount, percentage, date, month or number word that does not
  occur in the provisions the sentence cites (or, for a sentence citing none, in those the
  answer cites); "één", "one" and "1" are the same number;
- `uncited_sentence`: a factual sentence without a citation. A sentence is factual unless it is
  very short (under four words), a question back to the asker, a lead-in ending in a colon, or
  one of the fixed phrases for what the code does not say;
- `empty`: no text.

Pure functions over strings: no model, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from assistant.corpus import ids

MIN_FACTUAL_WORDS = 4  # a sentence of fewer words ("Yes.", "Ja, dat klopt.") needs no citation
ALLOWED_QUOTES = ("stagecode hbo",)  # names that may be quoted without being in a provision


class Source(Protocol):
    """A provision the model was given: its id, Dutch text and English rendering."""

    id: str
    text: str
    text_en: str


@dataclass(frozen=True)
class Violation:
    """One reason to reject a generated answer."""

    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


# -- normalising ------------------------------------------------------------------------------

_QUOTE_FORMS = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "`": "'", "“": '"', "”": '"',
                              "„": '"', "‟": '"', "«": '"', "»": '"', "–": "-", "—": "-", "‑": "-",
                              "\u00a0": " "})


def normalise(text: str) -> str:
    """Case-folded, NFC, one form of quotes and dashes, single spaces."""
    text = unicodedata.normalize("NFC", text).translate(_QUOTE_FORMS).casefold()
    return re.sub(r"\s+", " ", text).strip()


# -- citations ----------------------------------------------------------------------------------

_BRACKETS = re.compile(r"\[([^\[\]\n]{1,80})\]")
_ELLIPSIS = re.compile(r"^\s*(\.\.\.|…)\s*$")
_JOINERS = frozenset({"and", "en", "&", "zie", "see"})


def bracket_refs(text: str) -> list[str]:
    """Every reference inside square brackets, split on commas and semicolons, in order."""
    refs: list[str] = []
    for m in _BRACKETS.finditer(text):
        if _ELLIPSIS.match(m.group(1)):
            continue
        refs += [t for t in re.split(r"[,;\s]+", m.group(1).strip()) if t and t.lower() not in _JOINERS]
    return refs


def resolve_ref(ref: str, sources: Sequence[Source]) -> str | None:
    """The given provision a reference names: its id (any case), or [n] for the n-th source."""
    wanted = ref.strip().strip(".").lower()
    for s in sources:
        if s.id.lower() == wanted:
            return s.id
    if wanted.isdigit() and 1 <= int(wanted) <= len(sources):
        return sources[int(wanted) - 1].id
    return None


def cited(text: str, sources: Sequence[Source]) -> list[str]:
    """Ids of the given provisions that `text` cites in brackets, without repeats."""
    out = [resolve_ref(r, sources) for r in bracket_refs(text)]
    return list(dict.fromkeys(pid for pid in out if pid))


def named_ids(text: str, known_ids: Iterable[str]) -> list[str]:
    """Structured provision ids ('3B.vd.4', 'fn.3', '2.1') named outside brackets."""
    return ids.mentioned(_BRACKETS.sub(" ", text), known_ids)


# -- quotes -------------------------------------------------------------------------------------

_QUOTED = re.compile(r"“([^”“\n]{2,}?)”|„([^”“\n]{2,}?)[”“]|\"([^\"\n]{2,}?)\"|«([^»\n]{2,}?)»|‘([^’\n]{2,}?)’(?!\w)")
MIN_SINGLE_QUOTE_WORDS = 4  # ‘Internship code’ names a term; four words or more in ‘…’ is a quote


def quotes(text: str) -> list[str]:
    """The passages of `text` between double quotation marks (typographic or straight), and
    between single ones when they hold a passage rather than a term."""
    out = []
    for m in _QUOTED.finditer(text):
        q = next(g for g in m.groups() if g is not None)
        if m.group(5) is None or len(re.findall(r"\w+", q)) >= MIN_SINGLE_QUOTE_WORDS:
            out.append(q)
    return out


def is_verbatim(quote: str, haystacks: Iterable[str]) -> bool:
    """Whether each part of a quote (split at an ellipsis) occurs word for word in one text."""
    hay = [normalise(h) for h in haystacks]
    parts = [normalise(p).strip(" .,;:!?'\"") for p in re.split(r"\[?(?:\.\.\.|…)\]?", quote)]
    parts = [p for p in parts if p]
    return bool(parts) and any(all(p in h for p in parts) for h in hay)


# -- numbers ------------------------------------------------------------------------------------

NUMBER_WORDS = {
    # English
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "thousand": 1000, "million": 1000000, "twice": 2, "thrice": 3, "dozen": 12,
    # Dutch ('een' is also the article 'a' and is left out; 'één' and 'eén' are the number)
    "nul": 0, "één": 1, "eén": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7,
    "acht": 8, "negen": 9, "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13, "veertien": 14,
    "vijftien": 15, "zestien": 16, "zeventien": 17, "achttien": 18, "negentien": 19,
    "twintig": 20, "dertig": 30, "veertig": 40, "vijftig": 50, "zestig": 60, "zeventig": 70,
    "tachtig": 80, "negentig": 90, "honderd": 100, "duizend": 1000, "miljoen": 1000000,
    "tweemaal": 2, "driemaal": 3, "eenmaal": 1,
}
MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "juni": 6, "juli": 7, "augustus": 8,
    "oktober": 10,
}
# 'one' that is not a count ('one of', 'no one', 'have one by'), Dutch 'ten' that is a preposition
_NOT_A_NUMBER = re.compile(
    r"\b(?:one (?:of|another|or another)|no one|the one|any ?one|every ?one|each one|this one|"
    r"that one|which one|ten (?:aanzien|minste|behoeve|opzichte|slotte|einde|tijde|laste|gunste|"
    r"koste|gevolge|onrechte|eerste|tweede|derde|dele|name|hoogste|volle|grondslag))\b"
    r"|\bone(?= (?:by|for|in|at|on|to|from|with|that|which|who|yourself|else|if|when|as|is|are|"
    r"was|will|can|must|should|does|do|and|or|but)\b(?! (?:\d|two|three|four|five|six|seven|eight|"
    r"nine|ten)\b))|\bone(?=\s*(?:[.,;:!?)\]]|$))"
)
_MAY = re.compile(r"\b\d{1,2}\s+may\b|\bmay\s+\d{1,4}\b")  # the month, not the verb
_DATE = re.compile(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})\b")
_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:[.,]\d{3})+(?![\d])|(?<![\w.,])\d+(?:[.,]\d+)?")
_ONCE = re.compile(r"\bonce (?=a |an |per |every |each )")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def _value(token: str) -> str:
    """A number's canonical form: '1.000' and '1,000' → '1000'; '2,5' and '2.5' → '2.5'."""
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", token):
        return str(int(re.sub(r"[.,]", "", token)))
    if re.fullmatch(r"\d+[.,]\d+", token):
        whole, frac = re.split(r"[.,]", token)
        frac = frac.rstrip("0")
        return f"{int(whole)}.{frac}" if frac else str(int(whole))
    return str(int(token))


def numbers(text: str) -> list[tuple[str, str]]:
    """(surface, canonical value) of every number, amount, percentage, date, month and number
    word in `text`; months are 'month:N'. Section and provision ids should be removed first."""
    t = unicodedata.normalize("NFC", text).casefold()
    t = _NOT_A_NUMBER.sub(" ", t)
    out: list[tuple[str, str]] = []
    for m in _DATE.finditer(t):
        day, month, year = m.groups()
        out += [(m.group(0), str(int(day))), (m.group(0), f"month:{int(month)}"), (m.group(0), str(int(year)))]
    t = _DATE.sub(" ", t)
    for _ in _ONCE.finditer(t):
        out.append(("once", "1"))
    for m in _MAY.finditer(t):
        out.append((m.group(0), "month:5"))
    for m in _NUMBER.finditer(t):
        out.append((m.group(0), _value(m.group(0))))
    for m in _WORD.finditer(t):
        w = m.group(0)
        if w in NUMBER_WORDS:
            out.append((w, str(NUMBER_WORDS[w])))
        elif w in MONTHS:
            out.append((w, f"month:{MONTHS[w]}"))
    return out


def _strip_refs(text: str, known_ids: Iterable[str]) -> str:
    """Text without bracketed citations, provision ids and section names like '3B' or 'art. 4'."""
    text = ids.without_ids(_BRACKETS.sub(" ", text), known_ids)
    return re.sub(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+", " ", text, flags=re.M)  # list markers


# -- sentences ----------------------------------------------------------------------------------

_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "bijv.", "bv.", "o.a.", "art.", "t.a.v.", "incl.", "nr.",
                  "m.b.t.", "z.s.m.", "d.w.z.", "vs.", "cf.", "jo.")


_END = re.compile(r"(?:[.!?]|[\x02\x05\x06](?=[\"”’»]))[)\"”’'»]*(?:\s*\x00\d+\x01)*")
_PROTECT = str.maketrans({".": "\x02", "!": "\x05", "?": "\x06"})
_RESTORE = str.maketrans({"\x02": ".", "\x05": "!", "\x06": "?"})


def sentences(text: str) -> list[str]:
    """The sentences (and list items) of `text`; a citation after the full stop stays with its
    sentence, and quotes, ids, decimals and abbreviations do not end one."""
    kept: list[str] = []

    def keep(m: re.Match[str]) -> str:
        kept.append(m.group(0))
        return f"\x00{len(kept) - 1}\x01"

    t = _BRACKETS.sub(keep, text)
    t = _QUOTED.sub(lambda m: m.group(0).translate(_PROTECT), t)
    for abbr in _ABBREVIATIONS:
        t = re.sub(rf"(?<!\w){re.escape(abbr)}", lambda m: m.group(0).replace(".", "\x02"), t,
                   flags=re.IGNORECASE)
    t = re.sub(r"(?<=\d)\.(?=\d)", "\x02", t)
    t = re.sub(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+", "", t, flags=re.M)  # list markers
    parts: list[str] = []
    for line in t.split("\n"):
        start = 0
        for m in _END.finditer(line):
            if m.end() < len(line) and line[m.end()].isspace():
                parts.append(line[start:m.end()])
                start = m.end()
        parts.append(line[start:])
    out = []
    for p in parts:
        p = re.sub(r"\x00(\d+)\x01", lambda m: kept[int(m.group(1))], p).translate(_RESTORE)
        p = re.sub(r"[*_#`>]+", "", p).strip()
        if p:
            out.append(p)
    return out


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", _BRACKETS.sub(" ", text))


def fixed_sentences(phrases: Iterable[str]) -> frozenset[str]:
    """The normalised sentences of fixed phrases (abstention and 'not set' texts)."""
    return frozenset(normalise(s).rstrip(".!") for p in phrases for s in sentences(p))


def is_factual(sentence: str, exempt: frozenset[str] = frozenset()) -> bool:
    """Whether a sentence states something that needs a citation."""
    bare = _BRACKETS.sub(" ", sentence).strip()
    if len(_words(bare)) < MIN_FACTUAL_WORDS or bare.endswith(("?", ":")):
        return False
    return normalise(bare).rstrip(".!") not in exempt


# -- the guard ----------------------------------------------------------------------------------


def check(
    text: str,
    sources: Sequence[Source],
    *,
    known_ids: Iterable[str] = (),
    question: str = "",
    exempt: Iterable[str] = (),
) -> list[Violation]:
    """Violations of a generated answer against the provisions it was given (empty: it passes).

    known_ids: every provision id of the code (ids named in the text are checked against the
    given ones). question: quoting the asker is allowed. exempt: fixed phrases that need no
    citation (what the code does not say).
    """
    if not text.strip():
        return [Violation("empty", "the model returned no text")]
    known = set(known_ids) | {s.id for s in sources}
    by_id = {s.id: s for s in sources}
    out: list[Violation] = []

    refs = bracket_refs(text)
    for ref in dict.fromkeys(refs):
        if resolve_ref(ref, sources) is None:
            out.append(Violation("unknown_id", f"[{ref}] is not one of the provisions retrieved "
                                               f"({', '.join(by_id)})"))
    for pid in named_ids(text, known):
        if pid not in by_id:
            out.append(Violation("unknown_id", f"{pid} is named but was not retrieved"))
    all_cited = cited(text, sources)
    if not all_cited:
        out.append(Violation("no_citation", "the answer cites no provision"))

    hay = [h for s in sources for h in (s.text, s.text_en) if h] + ([question] if question else [])
    for q in quotes(text):
        if normalise(q).strip(" .,;:") in ALLOWED_QUOTES:
            continue
        if not is_verbatim(q, hay):
            out.append(Violation("misquote", f"“{q}” is not word for word in the provisions"))

    exempt_set = fixed_sentences(exempt)
    supported: dict[tuple[str, ...], set[str]] = {}
    for sentence in sentences(text):
        ids = tuple(cited(sentence, sources)) or tuple(all_cited)
        if ids not in supported:
            supported[ids] = {v for pid in ids for h in (by_id[pid].text, by_id[pid].text_en)
                              for _, v in numbers(_strip_refs(h or "", known))}
        for surface, value in numbers(_strip_refs(sentence, known)):
            if value not in supported[ids]:
                where = f"is not in {', '.join(ids)}" if ids else "has no cited provision to come from"
                out.append(Violation("unsupported_number", f"“{surface}” {where}"))
        if not bracket_refs(sentence) and is_factual(sentence, exempt_set):
            out.append(Violation("uncited_sentence", f"“{sentence[:120]}” cites no provision"))
    return out
