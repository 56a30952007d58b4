"""The Browse tab: find provisions by id or words, and show them Dutch beside English."""

from __future__ import annotations

import difflib
import re

from assistant.corpus.corpus import Corpus
from assistant.text.tokens import analyze, fold
from assistant.ui.texts import UI
from assistant.ui.views import WORD, browse_link, esc


def find_id(corpus: Corpus, text: str) -> str | None:
    """The provision id `text` names exactly (any case), if any."""
    wanted = text.strip().lower()
    return next((pid for pid in corpus.by_id if pid.lower() == wanted), None)


def _haystack(corpus: Corpus, pid: str) -> str:
    p = corpus.by_id[pid]
    c = corpus.curation.get(pid)
    parts = [pid, p.text, p.label_nl, p.label_en]
    if c is not None:
        parts += [c.en, c.title_nl, c.title_en]
    return fold(" ".join(parts))


def _needles(query: str) -> list[set[str]]:
    """Per query word, the forms to look for inside the text's words: the folded word and its
    Dutch and English stems, so "discriminatie" finds "stagediscriminatie" and "vergoedingen"
    finds "onkostenvergoeding". Words of one or two letters must start a word."""
    out = []
    for word in WORD.findall(fold(query)):
        forms = {word} | {s for s in analyze(word) if len(s) >= 3}
        out.append(forms)
    return out


def _has(haystack: str, forms: set[str]) -> bool:
    return any((re.search(rf"(?<![a-z0-9]){re.escape(f)}", haystack) if len(f) < 3 else f in haystack)
               for f in forms)


def browse_filter(corpus: Corpus, query: str) -> list[str]:
    """Ids of the provisions matching a search: an exact id, or every word (inside compounds and
    in any inflection, in the Dutch or the English text)."""
    query = (query or "").strip()
    if not query:
        return [p.id for p in corpus.provisions]
    if pid := find_id(corpus, query):
        p = corpus.by_id[pid]
        return [pid, *p.children] if p.text.endswith(":") else [pid]
    needles = _needles(query)
    return [p.id for p in corpus.provisions if all(_has(_haystack(corpus, p.id), n) for n in needles)]


def marked(text: str, query: str) -> str:
    """HTML of `text`, escaped, with each word that holds a searched form in <mark>."""
    forms = set().union(*_needles(query)) if query.strip() else set()
    out, last = [], 0
    for m in WORD.finditer(text):
        word = fold(m.group(0))
        hit = any((word.startswith(f) if len(f) < 3 else f in word) for f in forms)
        out += [esc(text[last:m.start()]), f"<mark>{esc(m.group(0))}</mark>" if hit else esc(m.group(0))]
        last = m.end()
    out.append(esc(text[last:]))
    return "".join(out)


def unknown_id_html(corpus: Corpus, name: str, lang: str) -> str:
    """A deep link to an id that does not exist: say so, and offer the nearest ids."""
    ui = UI[lang]
    lower = {pid.lower(): pid for pid in corpus.by_id}
    near = [lower[x] for x in difflib.get_close_matches(name.strip().lower(), list(lower), n=5, cutoff=0.4)]
    links = " ".join(f'<a class="sc-id" href="{esc(browse_link(pid))}">{esc(pid)}</a>' for pid in near)
    nearest = f' {esc(ui["nearest"])} {links}' if near else ""
    return f'<p class="sc-warning" role="alert">{esc(ui["unknown_id"].format(id=name.strip()[:40]))}{nearest}</p>'


def browse_html(corpus: Corpus, query: str, lang: str) -> str:
    """The Browse tab's list: every matching provision with id, label, Dutch and English, the
    searched words marked; "Link" opens the provision's own page in a new tab."""
    ui = UI[lang]
    ids = browse_filter(corpus, query)
    count = ui["count"].format(n=len(ids), total=len(corpus.provisions))
    if not ids:
        return f'<p class="sc-muted">{esc(count)}. {esc(ui["none"])}</p>'
    exact = find_id(corpus, query or "") is not None
    shown = "" if exact else (query or "")
    cards = []
    for pid in ids:
        p = corpus.by_id[pid]
        cards.append(
            f'<div class="sc-card" id="p-{esc(pid)}" data-id="{esc(pid)}">'
            f'<div class="sc-head"><span class="sc-id">{esc(pid)}</span>'
            f'<span class="sc-label">{esc(corpus.label(pid, lang))}</span>'
            f'<a class="sc-link" href="{esc(browse_link(pid))}" target="_blank" rel="noopener">'
            f'{esc(ui["link"])}</a></div>'
            f'<div class="sc-cols"><div><div class="sc-col-title">{esc(ui["nl_col"])}</div>'
            f'<p lang="nl" class="sc-nl">{marked(p.text, shown)}</p></div>'
            f'<div><div class="sc-col-title">{esc(ui["en_col"])}</div>'
            f'<p lang="en" class="sc-en">{marked(corpus.english(pid), shown)}</p></div></div></div>'
        )
    return f'<div class="sc-browse"><p class="sc-muted">{esc(count)}</p>{"".join(cards)}</div>'
