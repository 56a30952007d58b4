"""Turn the extracted text of the Stagecode hbo into `Provision` records with stable ids.

The parser knows the document's grammar (numbered sections, lettered sub-sections, bullet
agreements with lettered items, "Aanvullende afspraken" blocks per track, footnotes at page
bottoms) but not its wording, so ids are derived from structure: `3B.vd.2a`, `4.aanv.5`,
`def.werkbegeleider`, `fn.3`. The same text always yields the same ids.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from itertools import takewhile

from assistant.corpus import ids
from assistant.domain import SENTENCE_BREAK, Provision
from assistant.errors import CorpusError

BULLET = "–"
# glyphs the PDF extraction leaves where a bullet symbol or a non-breaking space was
_JUNK = str.maketrans({"\ufffd": " ", "\xa0": " ", "\t": " ", "\uf0b7": " ", "\u2022": BULLET})

_HEADING = re.compile(r"^\s*([1-9])\s+([A-Z][^\d].*?)\s*$")
_SUBSECTION = re.compile(r"^\s*([A-H])\s+(Algemene afspraken\b.*?)\s*$")
_EXTRA = re.compile(r"^\s*(Aanvullende afspraken)(\s+voor\s+(.*?))?\s*$")
_LETTERED = re.compile(r"^\s+([a-h])\s+(\S.*)$")
_FOOTNOTE = re.compile(r"^\s?(\d)\s+(\S.*)$")
_PAGE_NUMBER = re.compile(r"^\s*\d{1,3}\s*$")
_PAGE_START = re.compile(r"^ \S")  # the extraction starts each new page with one space
_MARKER = re.compile(r"(?<=[A-Za-zÀ-ÿ’'])([1-9])(?=[\s.,;:)]|$)")
_SIGNED = re.compile(r"^Ondertekend op\b")

PREAMBLE_SLUGS = ("doel", "naleving", "reikwijdte", "afwijken")
#: bullets that stand directly under a section (not under "Aanvullende afspraken") and are
#: not agreements but something else get a group name; section 4 lists the manifest's ambitions
SECTION_BULLET_GROUP = {"4": "amb"}


class ParseError(CorpusError):
    """The text does not have the structure of the Stagecode hbo."""


def sha256(text: str) -> str:
    """Short, stable content hash used for staleness checks."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def clean(lines: list[str]) -> str:
    """Join wrapped lines into one string: undo line-wrap hyphenation, collapse white space.

    `onder-⏎staande` becomes `onderstaande`; `MKB-⏎Nederland` keeps its hyphen (capital after
    it); `stage/⏎werkplekleren` and `stage-/⏎leerwerkplek` join without a space.
    """
    out = ""
    for raw in lines:
        line = re.sub(r"\s+", " ", raw.translate(_JUNK)).strip()
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("/"):
            out += line
        elif out.endswith("-") and not out.endswith(" -"):
            # onder-⏎staande → onderstaande, but MKB-⏎Nederland → MKB-Nederland
            out = (out[:-1] if line[0].islower() else out) + line
        else:
            out += " " + line
    return re.sub(r"\s+", " ", out).strip()


def strip_markers(text: str, numbers: set[int]) -> str:
    """Remove footnote reference digits glued to a word (`stagecode1` → `stagecode`)."""
    return _MARKER.sub(lambda m: "" if int(m.group(1)) in numbers else m.group(0), text)


# ---------------------------------------------------------------------------------------
# Stage 1: classify lines into blocks


@dataclass
class Block:
    kind: str  # title | heading | subsection | extra | bullet | para | footnote
    key: str = ""  # heading number, subsection letter, extra group, footnote number
    title: str = ""
    lines: list[str] = field(default_factory=list)
    items: list[tuple[str, list[str]]] = field(default_factory=list)  # lettered sub-items


def split_blocks(raw: str) -> list[Block]:
    """Classify the extracted lines into headings, paragraphs, bullets and footnotes.

    Footnotes are recognised only once their reference marker has appeared in the body, so
    a section number ("3  Stagebegeleiding…") is never mistaken for footnote 3. A footnote
    runs until the next page starts (a line with one leading space) or the next footnote.
    A line holding only white space separates paragraphs; an empty line inside a bullet is a
    soft break the extraction leaves between wrapped lines.
    """
    blocks: list[Block] = []
    seen_markers: set[int] = set()
    next_note = 1
    in_note = False
    cur: Block | None = None

    interrupted: Block | None = None  # the paragraph or bullet a page's footnotes cut in two

    def close() -> None:
        nonlocal cur
        if cur is not None and all(x is not cur for x in blocks):
            blocks.append(cur)
        cur = None

    def start_note(number: str, first: str) -> None:
        nonlocal cur, interrupted, next_note, in_note
        if cur is not None and cur.kind in ("para", "bullet"):
            tail = clean(cur.items[-1][1] if cur.items else cur.lines)
            interrupted = cur if not re.search(r"[.:;!?]$", tail) else None
        close()
        cur = Block("footnote", key=number, lines=[first])
        next_note += 1
        in_note = True

    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\f", "\n "))
    for line in text.split("\n"):
        plain = line.translate(_JUNK)
        stripped = plain.strip()
        if _PAGE_NUMBER.match(plain) and cur is not None and cur.kind != "footnote":
            continue
        if in_note:
            m = _FOOTNOTE.match(plain)
            if m and int(m.group(1)) == next_note and next_note in seen_markers:
                start_note(m.group(1), m.group(2))
                continue
            if _PAGE_START.match(line) or _PAGE_NUMBER.match(plain):
                in_note = False
                close()
                cur, interrupted = interrupted, None  # the next page resumes the cut block
                if _PAGE_NUMBER.match(plain):
                    continue
            else:
                if cur is not None:
                    cur.lines.append(plain)
                continue
        if not stripped:
            # a line of only white space (not empty) ends a paragraph or a bullet list
            if line and cur is not None and cur.kind in ("para", "bullet") or not line and cur is not None and cur.kind == "para":
                close()
            continue
        m = _FOOTNOTE.match(plain)
        if m and int(m.group(1)) == next_note and next_note in seen_markers:
            start_note(m.group(1), m.group(2))
            continue
        for mm in _MARKER.finditer(stripped):
            seen_markers.add(int(mm.group(1)))
        if m := _HEADING.match(plain):
            close()
            blocks.append(Block("heading", key=m.group(1), title=m.group(2).strip()))
        elif m := _SUBSECTION.match(plain):
            close()
            blocks.append(Block("subsection", key=m.group(1), title=m.group(2).strip()))
        elif m := _EXTRA.match(plain):
            close()
            rest = (m.group(3) or "").strip()
            group = "vd" if rest.startswith("voltijd") else "duaal" if rest.startswith("dua") else "aanv"
            blocks.append(Block("extra", key=group, title=stripped))
        elif stripped.startswith(BULLET):
            close()
            cur = Block("bullet", lines=[stripped[1:]])
        elif cur is not None and cur.kind == "bullet" and (m := _LETTERED.match(plain)) and (
            (m.group(1) == "a" and clean(cur.lines).endswith(":"))
            or (cur.items and ord(m.group(1)) == ord(cur.items[-1][0]) + 1)
        ):
            cur.items.append((m.group(1), [m.group(2)]))
        elif cur is not None and cur.kind == "bullet":
            (cur.items[-1][1] if cur.items else cur.lines).append(plain)
        elif cur is not None and cur.kind == "para":
            cur.lines.append(plain)
        else:
            close()
            cur = Block("para", lines=[plain])
    close()
    return blocks


# ---------------------------------------------------------------------------------------
# Stage 2: walk the blocks and give every provision its id


def _slug(term: str) -> str:
    word = re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", term.split()[0].lower()))
    return word or "term"


def parse(raw: str) -> list[Provision]:
    """Parse the extracted text into provisions, in document order, footnotes last."""
    blocks = split_blocks(raw)
    notes = {int(b.key): b for b in blocks if b.kind == "footnote"}
    numbers = set(notes)
    body = [b for b in blocks if b.kind != "footnote"]
    if not any(b.kind == "heading" for b in body):
        raise ParseError("no numbered section headings found: is this the Stagecode hbo?")

    out: list[dict] = []
    section, sub, group, group_title = "pre", "", "", ""
    bullets: dict[str, int] = {}  # bullets seen per scope
    pending: list[str] = []  # raw paragraphs waiting to become an intro
    pre_paras: list[str] = []

    def scope() -> str:
        return ids.section_id(section, sub, group)

    def path(*extra: str) -> tuple[str, ...]:
        return tuple(x for x in (section, sub, group_title) if x) + extra

    def add(pid: str, kind: str, raw_text: str, p: tuple[str, ...], **kw: object) -> None:
        track = group if group in ids.TRACK_GROUPS else "all"
        out.append({"id": pid, "kind": kind, "raw": raw_text, "path": p, "track": track, **kw})

    def flush(pid: str) -> None:
        if pending:
            add(pid, "intro", " ".join(pending), path("intro"))
            pending.clear()

    for i, b in enumerate(body):
        if b.kind in ("heading", "subsection", "extra"):
            flush(ids.intro(scope()))
            if b.kind == "heading":
                section, sub, group, group_title = b.key, "", "", ""
            elif b.kind == "subsection":
                sub, group, group_title = b.key, "", ""
            else:
                group, group_title = b.key, b.title
            continue
        raw_text = clean(b.lines)
        if section == "pre":
            pre_paras.append(raw_text)
            continue
        if section == "1" and not sub:
            if raw_text.endswith(":") and not any(o["kind"] == "definition" for o in out):
                continue  # "In dit document wordt verstaan onder:" introduces the list
            term, definition = clean(b.lines[:1]), clean(b.lines[1:])
            if not definition:
                raise ParseError(f"definition without text: {term!r}")
            add(f"def.{_slug(term)}", "definition", definition, ("1", term), term=term)
            continue
        if b.kind == "para":
            nxt = next((x.kind for x in body[i + 1:] if x.kind != "para"), None)
            if nxt == "bullet":
                pending.append(raw_text)  # introduces the list that follows
            elif group and not bullets.get(scope()):
                add(scope(), "agreement", raw_text, path())  # a block that is one paragraph
            elif nxt == "extra":
                pending.append(raw_text)  # introduces the next "Aanvullende afspraken"
                nxt_block = next(x for x in body[i + 1:] if x.kind == "extra")
                add(ids.intro(ids.section_id(section, sub, nxt_block.key)), "intro", " ".join(pending), path("intro"))
                pending.clear()
            elif nxt is None:
                pid = "slot.ondertekend" if _SIGNED.match(raw_text) else "slot"
                out.append({"id": pid, "kind": "closing", "raw": raw_text, "path": ("slot",),
                            "track": "all"})
            else:
                pending.append(raw_text)
            continue
        # a bullet
        flush(ids.intro(scope()))
        g = group or SECTION_BULLET_GROUP.get(section, "")
        key = ids.section_id(section, sub, g)
        bullets[scope()] = bullets.get(scope(), 0) + 1
        n = bullets[scope()]
        pid = ids.numbered(key, n)
        kind = "ambition" if g == "amb" else "agreement"
        children = tuple(ids.item(pid, letter) for letter, _ in b.items)
        add(pid, kind, raw_text, path(str(n)), children=children)
        for letter, lines in b.items:
            add(ids.item(pid, letter), "item", clean(lines), path(str(n), letter), parent=pid)
    flush(ids.intro(scope()))

    # preamble: skip the title lines; the first paragraph states the purpose, the later
    # ones are split into sentences because each sentence is a rule of its own
    paras = [p for p in pre_paras if not _is_title(p)]
    if paras:
        sentences = [paras[0]] + [s for p in paras[1:] for s in SENTENCE_BREAK.split(p)]
        for i, sentence in enumerate(sentences):
            slug = PREAMBLE_SLUGS[i] if i < len(PREAMBLE_SLUGS) else str(i + 1)
            out.insert(i, {"id": f"pre.{slug}", "kind": "preamble", "raw": sentence,
                           "path": ("pre", str(i + 1)), "track": "all"})

    owners: dict[int, str] = {}
    for n in sorted(numbers):
        pat = re.compile(rf"(?<=[A-Za-zÀ-ÿ’']){n}(?=[\s.,;:)]|$)")
        owner = next((o for o in out if pat.search(o["raw"])), None)
        if owner is None:
            raise ParseError(f"footnote {n} has no reference marker in the text")
        owners[n] = owner["id"]
        out.append({"id": f"fn.{n}", "kind": "footnote", "raw": clean(notes[n].lines),
                    "path": ("fn", str(n)), "footnote_of": owner["id"], "track": owner["track"]})
    for o in out:
        o["text"] = o["raw"] if o["kind"] == "footnote" else strip_markers(o["raw"], numbers)
    _link_lead_ins(out)
    return _finish(out, owners)


def _link_lead_ins(out: list[dict]) -> None:
    """An introduction that ends with a colon ("De ambities van dit manifest zijn:") announces
    the bullets after it: they become its items, as lettered items are an agreement's."""
    for i, o in enumerate(out):
        if o["kind"] != "intro" or not o["text"].endswith(":") or o.get("children"):
            continue
        section = o["path"][0]
        items = list(takewhile(lambda x, s=section: x["kind"] in ("ambition", "agreement") and x["path"][0] == s,
                               out[i + 1:]))
        o["children"] = tuple(x["id"] for x in items)
        for x in items:
            x.setdefault("parent", o["id"])


def _is_title(paragraph: str) -> bool:
    """The title lines above the preamble: the organisations in capitals, the code's name."""
    letters = [c for c in paragraph if c.isalpha()]
    return paragraph.lower() == "stagecode hbo" or (
        bool(letters) and sum(c.isupper() for c in letters) / len(letters) > 0.8
    )


def _finish(out: list[dict], owners: dict[int, str]) -> list[Provision]:
    seen: set[str] = set()
    for o in out:
        if o["id"] in seen:
            raise ParseError(f"two provisions would get the id {o['id']!r}")
        seen.add(o["id"])
        if not o["text"]:
            raise ParseError(f"provision {o['id']} has no text")
    notes_of: dict[str, list[str]] = {}
    for n, owner in sorted(owners.items()):
        notes_of.setdefault(owner, []).append(f"fn.{n}")
    provisions = []
    for o in out:
        label_nl, label_en = _labels(o)
        provisions.append(
            Provision(
                id=o["id"], kind=o["kind"], path=tuple(o["path"]), label_nl=label_nl,
                label_en=label_en, text=o["text"], parent=o.get("parent"),
                children=tuple(o.get("children", ())), footnotes=tuple(notes_of.get(o["id"], ())),
                footnote_of=o.get("footnote_of"), track=o["track"],
            )
        )
    return provisions


def _labels(o: dict) -> tuple[str, str]:
    """Structural display labels, e.g. '3B › voltijd/deeltijd › 2a'."""
    pid: str = o["id"]
    kind = o["kind"]
    if kind == "preamble":
        return f"Inleiding › {o['path'][1]}", f"Introduction › {o['path'][1]}"
    if kind == "definition":
        return f"1 Definities › {o['term']}", f"1 Definitions › {o['term']}"
    if kind == "footnote":
        n = pid.split(".")[1]
        return f"Voetnoot {n}", f"Footnote {n}"
    if kind == "closing":
        if pid == "slot":
            return "Slotbepaling", "Closing provision"
        return "Slotbepaling › ondertekening", "Closing provision › signature"
    head, *rest = pid.split(".")
    nl_parts, en_parts = [head], [head]
    for part in rest:
        nl, en = ids.GROUP_LABELS.get(part, (part, part))
        nl_parts.append(nl)
        en_parts.append(en)
    return " › ".join(nl_parts), " › ".join(en_parts)


def body_text(raw: str) -> str:
    """The normalised source without footnotes and headings-as-lines: what provisions quote.

    Used by tests to check that every provision's text occurs verbatim in the source.
    """
    blocks = split_blocks(raw)
    numbers = {int(b.key) for b in blocks if b.kind == "footnote"}
    parts = []
    for b in blocks:
        if b.kind in ("heading", "subsection", "extra"):
            parts.append(b.title)
        else:
            parts.append(strip_markers(clean(b.lines), numbers))
            parts.extend(strip_markers(clean(lines), numbers) for _, lines in b.items)
    return " ".join(x for x in parts if x)
