"""HTML and Markdown the app shows: the chat message, the sources panel, highlighting.

Every piece of user or provision text that goes into HTML or Markdown passes through `esc`
or `md_escape`. Pure functions, tested without gradio.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from assistant.answering import render
from assistant.corpus.corpus import Corpus
from assistant.domain import Answer
from assistant.text.tokens import analyze, fold
from assistant.ui.texts import UI

_TEMPLATE_CHARS = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;"})
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$])")


def esc(text: object) -> str:
    """Escape text for HTML, and the characters HTML templates would read as syntax."""
    return html.escape(str(text), quote=True).translate(_TEMPLATE_CHARS)


def md_escape(text: object) -> str:
    """Escape text for the chat's Markdown: no HTML, links, images or formatting from it."""
    return html.escape(_MD_SPECIAL.sub(r"\\\1", str(text)), quote=False)


def browse_link(pid: str) -> str:
    """The deep link that opens the Browse tab at one provision."""
    return f"?id={quote(pid, safe='.')}"


# -- highlighting ----------------------------------------------------------------------------

WORD = re.compile(r"\w+", re.UNICODE)


def _stems(word: str) -> set[str]:
    return set(analyze(word)) | {fold(word)}


def question_stems(question: str) -> set[str]:
    """Stems of the question's content words (stop words and 1–2 letter words left out)."""
    return {s for w in WORD.findall(question) if len(w) > 2 for s in analyze(w)}


def highlight(text: str, question: str) -> str:
    """HTML of `text`, escaped, with the words it shares with the question in <mark>."""
    wanted = question_stems(question)
    out: list[str] = []
    last = 0
    for m in WORD.finditer(text):
        out.append(esc(text[last:m.start()]))
        word = m.group(0)
        hit = len(word) > 2 and bool(wanted & _stems(word))
        out.append(f"<mark>{esc(word)}</mark>" if hit else esc(word))
        last = m.end()
    out.append(esc(text[last:]))
    return "".join(out)


# -- the chat --------------------------------------------------------------------------------


def chat_markdown(answer: Answer) -> str:
    """The chat message for an answer: badge if it abstains, text, and its citations by id."""
    ui = UI[answer.language if answer.language in UI else "en"]
    parts = []
    if answer.abstained:
        parts.append(f"**{md_escape(ui['abstained'])}**")
    parts.append(md_escape(render.body(answer)))  # the sources panel shows the sources in full
    if answer.citations:
        parts.append("\n".join(
            f"\\[{i}\\] **{md_escape(c.id)}** — {md_escape(c.label)}"
            for i, c in enumerate(answer.citations, 1)
        ))
    return "\n\n".join(parts)


def user_markdown(question: object, limit: int = 500) -> str:
    text = question if isinstance(question, str) else ""
    if len(text) > limit:
        text = text[:limit] + "…"
    return md_escape(text)


def sources_html(corpus: Corpus, ids: list[str], question: str, lang: str) -> str:
    """The sources panel: each cited provision in full, Dutch beside English, shared words marked."""
    ui = UI[lang]
    if not ids:
        return f'<div class="sc-sources"><p class="sc-muted">{esc(ui["no_sources"])}</p></div>'
    cards = []
    for i, pid in enumerate(ids, 1):
        p = corpus.by_id[pid]
        cards.append(
            f'<div class="sc-card" data-id="{esc(pid)}">'
            f'<div class="sc-head"><span>[{i}]</span><span class="sc-id">{esc(pid)}</span>'
            f'<span class="sc-label">{esc(corpus.label(pid, lang))}</span>'
            f'<a class="sc-link" href="{esc(browse_link(pid))}" target="_blank" rel="noopener">'
            f'{esc(ui["open"])}</a></div>'
            f'<div class="sc-cols"><div><div class="sc-col-title">{esc(ui["nl_col"])}</div>'
            f'<p lang="nl" class="sc-nl">{highlight(p.text, question)}</p></div>'
            f'<div><div class="sc-col-title">{esc(ui["en_col"])}</div>'
            f'<p lang="en" class="sc-en">{highlight(corpus.english(pid), question)}</p></div></div></div>'
        )
    return f'<div class="sc-sources"><h3>{esc(ui["sources"])}</h3>{"".join(cards)}</div>'
