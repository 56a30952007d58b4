"""The Browse tab: find provisions by id or words, and show them Dutch beside English."""

from __future__ import annotations

import re

from assistant.corpus.corpus import Corpus
from assistant.text.tokens import fold
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


def browse_filter(corpus: Corpus, query: str) -> list[str]:
    """Ids of the provisions matching a search: an exact id, or all words (as word prefixes)."""
    query = (query or "").strip()
    if not query:
        return [p.id for p in corpus.provisions]
    if pid := find_id(corpus, query):
        p = corpus.by_id[pid]
        return [pid, *p.children] if p.text.endswith(":") else [pid]
    tokens = WORD.findall(fold(query))
    patterns = [re.compile(rf"(?<![a-z0-9]){re.escape(t)}") for t in tokens]
    return [p.id for p in corpus.provisions if all(pt.search(_haystack(corpus, p.id)) for pt in patterns)]


def browse_html(corpus: Corpus, query: str, lang: str) -> str:
    """The Browse tab's list: every matching provision with id, label, Dutch and English."""
    ui = UI[lang]
    ids = browse_filter(corpus, query)
    count = ui["count"].format(n=len(ids), total=len(corpus.provisions))
    if not ids:
        return f'<p class="sc-muted">{esc(count)}. {esc(ui["none"])}</p>'
    cards = []
    for pid in ids:
        p = corpus.by_id[pid]
        cards.append(
            f'<div class="sc-card" id="p-{esc(pid)}" data-id="{esc(pid)}">'
            f'<div class="sc-head"><span class="sc-id">{esc(pid)}</span>'
            f'<span class="sc-label">{esc(corpus.label(pid, lang))}</span>'
            f'<a class="sc-link" href="{esc(browse_link(pid))}">{esc(ui["link"])}</a></div>'
            f'<div class="sc-cols"><div><div class="sc-col-title">{esc(ui["nl_col"])}</div>'
            f'<p lang="nl" class="sc-nl">{esc(p.text)}</p></div>'
            f'<div><div class="sc-col-title">{esc(ui["en_col"])}</div>'
            f'<p lang="en" class="sc-en">{esc(corpus.english(pid))}</p></div></div></div>'
        )
    return f'<div class="sc-browse"><p class="sc-muted">{esc(count)}</p>{"".join(cards)}</div>'
