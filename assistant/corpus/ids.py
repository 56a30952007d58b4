"""The provision-id grammar in one place: how the parser spells ids, how a question or a
generated answer names them, and the document's parts as the parsed corpus has them.

Ids look like `2.1`, `3A.7`, `3B.vd.2a`, `4.aanv.4`, `4.amb.1`, `3A.intro`, `def.stage`,
`pre.doel`, `fn.3`, `slot`: a section (a digit, for sections 3 also a subsection letter), then
an optional group (a track or a kind of list), then a number with an optional item letter.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from functools import lru_cache

#: groups inside a section: the two tracks, "additional agreements" and section 4's ambitions
TRACK_GROUPS = ("vd", "duaal")
GROUPS = (*TRACK_GROUPS, "aanv", "amb")
#: how a group reads in a provision's label, in Dutch and English: '3B › voltijd/deeltijd › 4'
GROUP_LABELS = {
    "vd": ("voltijd/deeltijd", "full-time/part-time"),
    "duaal": ("duaal", "dual"),
    "aanv": ("aanvullende afspraak", "additional agreement"),
    "amb": ("ambitie", "ambition"),
    "intro": ("inleiding", "introduction"),
}
#: ids outside the numbered sections: preamble, definitions, footnotes, the closing provision
NAMED_PREFIXES = ("pre", "def", "fn", "slot")


def section_id(section: str, sub: str = "", group: str = "") -> str:
    """The scope a numbered provision belongs to: '2', '3A', '3B.vd', '4.aanv'."""
    return f"{section}{sub}.{group}" if group else f"{section}{sub}"


def numbered(scope: str, n: int) -> str:
    return f"{scope}.{n}"


def item(parent: str, letter: str) -> str:
    return f"{parent}{letter}"


def intro(scope: str) -> str:
    return f"{scope}.intro"


_GROUP = "|".join(GROUPS)
#: text shaped like a provision id; only ids with letters in them ('3B.vd.9', 'def.foo'), so an
#: amount such as "1.000" never matches (an all-digit id such as '2.1' is found when it exists)
ID_SHAPE = re.compile(
    rf"(?<![\w.])(?:[1-4][ab]\.(?:{_GROUP}|\d+)(?:\.(?:\d+[a-z]?|intro))?|[1-4][ab]?\.(?:{_GROUP}|intro)"
    rf"(?:\.(?:\d+[a-z]?|intro))?|(?:{'|'.join(NAMED_PREFIXES)})\.[a-z0-9]+)(?![\w])",
    re.IGNORECASE,
)
#: a section named on its own in a question: '3A', '3b' (not '3B.')
SECTION_NAME = re.compile(r"(?<![\w.])([1-9][ab])(?![\w.])", re.IGNORECASE)
#: a section named in running text, also at the end of a sentence: 'see 3B.'
SECTION_IN_TEXT = re.compile(r"(?<![\w.])\d[ab](?![\w])", re.IGNORECASE)
#: "voetnoot 3", "footnote 3"
FOOTNOTE_NAME = re.compile(r"\b(?:voetnoot|footnote|fn)\s*(\d+)\b", re.IGNORECASE)
#: "artikel 4", "section 3b", "hoofdstuk 2" (but not "artikel 7.7 WHW")
PART_NAME = re.compile(
    r"\b(?:artikel|article|art\.?|section|sectie|paragraaf|paragraph|hoofdstuk|chapter|onderdeel|deel|part)"
    r"\s*(\d+[a-z]?)\b(?!\.\d)",
    re.IGNORECASE,
)


#: a whole message that is nothing but something shaped like an id, loosely: '4.5', '3B.dual.1'
LOOSE_ID = re.compile(r"^\s*(\d[a-z]?(?:\.[a-z0-9]+){1,2})\s*\??\s*$", re.IGNORECASE)


def closest(name: str, known: Iterable[str], n: int = 2) -> list[str]:
    """Known ids a mistyped one most likely means: those in the same section with the same numbers
    in the same order ('4.5' → '4.aanv.5', '3B.dual.1' → '3B.duaal.1'), most alike first; none
    when the section or a number differs, since that would point at another rule."""
    digits, section = re.sub(r"\D", "", name), name.split(".", 1)[0].lower()
    same = [pid for pid in known if is_structured(pid) and re.sub(r"\D", "", pid) == digits
            and pid.split(".", 1)[0].lower() == section]
    ratio = {pid: difflib.SequenceMatcher(None, name.lower(), pid.lower()).ratio() for pid in same}
    return sorted((pid for pid in same if ratio[pid] >= 0.5), key=lambda pid: -ratio[pid])[:n]


def is_structured(pid: str) -> bool:
    """Whether an id can be told from a word ('slot' is also a Dutch word; '3B.2' is not)."""
    return bool(re.search(r"[.\d]", pid))


def mentioned(text: str, known: Iterable[str]) -> list[str]:
    """Known ids named in a text as words, longest first ('3B.vd.2a' before '3B.vd.2'), each once."""
    plain, found = text, []
    for pid in sorted(set(known), key=len, reverse=True):
        if not is_structured(pid):
            continue
        pattern = rf"(?<![\w.]){re.escape(pid)}(?![\w]|\.\w)"
        if re.search(pattern, plain, flags=re.IGNORECASE):
            found.append(pid)
            plain = re.sub(pattern, " ", plain, flags=re.IGNORECASE)
    return found


def _spaced(pid: str) -> bool:
    """Whether an id is distinctive enough to be found with spaces for its dots ('3b vd 2a',
    '4 aanv 4'): one with a subsection letter or a group; not '2.1', which '2 1' need not mean."""
    head, *rest = pid.split(".")
    return bool(rest) and (re.fullmatch(r"\d[ab]", head, re.IGNORECASE) is not None or rest[0] in GROUPS)


@lru_cache(maxsize=8)
def _any_of(known: tuple[str, ...]) -> re.Pattern[str]:
    """Any known id, longest first, the distinctive ones also with spaces for their dots."""
    alternatives = "|".join(r"[.\s]\s*".join(map(re.escape, i.split("."))) if _spaced(i) else re.escape(i)
                            for i in sorted(known, key=len, reverse=True))
    return re.compile(rf"(?<![\w.])({alternatives})(?![\w])", re.IGNORECASE)


def first_mentioned(text: str, known: tuple[str, ...]) -> str | None:
    """The known id named earliest in the text (the longest where several start there), in its
    corpus spelling, also written with spaces for its dots ('3b vd 2a'). Unlike `mentioned`, a
    plain-word id such as 'slot' counts too."""
    m = _any_of(known).search(text)
    if m is None:
        return None
    said = re.sub(r"[.\s]+", ".", m.group(1)).lower()
    return next(pid for pid in known if pid.lower() == said)


def without_ids(text: str, known: Iterable[str]) -> str:
    """The text with every known structured id and section name ('3B') blanked out."""
    for pid in sorted(set(known), key=len, reverse=True):
        if is_structured(pid):
            text = re.sub(rf"(?<![\w.]){re.escape(pid)}(?![\w])", " ", text, flags=re.IGNORECASE)
    return SECTION_IN_TEXT.sub(" ", text)


def part_of(pid: str) -> str:
    """The top-level part an id stands in: '3B.vd.4' → '3B', 'def.stage' → '1', 'fn.2' → 'fn'."""
    head = pid.split(".", 1)[0]
    return "1" if head == "def" else head


def parts(ids: Iterable[str]) -> list[str]:
    """The document's top-level parts in order, from its ids: 'pre', '1', '2', '3A', '3B', '4', 'slot', 'fn'."""
    out: list[str] = []
    for pid in ids:
        if (part := part_of(pid)) not in out:
            out.append(part)
    return out


def footnote_numbers(ids: Iterable[str]) -> list[int]:
    return sorted(int(pid[3:]) for pid in ids if pid.startswith("fn.") and pid[3:].isdigit())
