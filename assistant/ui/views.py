"""HTML and Markdown the app shows: the chat message, the sources panel, highlighting.

Every piece of user or provision text that goes into HTML passes through `esc`; chat messages
are plain text, which the chat shows as typed. Pure functions, tested without gradio.
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


def esc(text: object) -> str:
    """Escape text for HTML, and the characters HTML templates would read as syntax."""
    return html.escape(str(text), quote=True).translate(_TEMPLATE_CHARS)


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


def as_message(text: str) -> str:
    """A chat message's text: the chat inserts messages as (sanitised) HTML even with Markdown
    off, so `&`, `<` and `>` are escaped and everything else shows exactly as written."""
    return html.escape(text, quote=False)


def _refused_outright(answer: Answer) -> bool:
    """Whether a refusal opens by saying the code does not answer: not when it opens with the
    open matter's pointer, nor when the reporting point leads (no matter named, the safety
    score near the route)."""
    reasons = set(answer.reasons)
    return (answer.abstained and not any(r.startswith("silent:") for r in reasons)
            and not {"not_covered", "safety_mention"} <= reasons)


def chat_text(answer: Answer) -> str:
    """The chat message for an answer, as plain text (copying it gives clean text): a line if it
    was read as a follow-up, a badge if it refuses outright, the answer, and each source with its id,
    label and verbatim quote, numbered as the sources panel numbers them."""
    ui = UI[answer.language if answer.language in UI else "en"]
    badge = [ui["abstained"]] if _refused_outright(answer) else []
    # a message read with the one before it says so: a new subject misread as a follow-up shows
    joined = [ui["read_with_previous"]] if answer.resolved_question else []
    return as_message("\n\n".join([*joined, *badge, render.text(answer)]))


def user_text(question: object, limit: int = 2000) -> str:
    """The user's message as typed (escaped only as the chat needs), cut for display only."""
    text = question if isinstance(question, str) else ""
    return as_message(text[:limit] + "…" if len(text) > limit else text)


def sources_html(corpus: Corpus, ids: list[str], question: str, lang: str) -> str:
    """The sources panel: each provision the answer to `question` cited, in full, Dutch beside
    English, shared words marked, under the question it answers; before any answer ("") a hint,
    after an answer that cites nothing a line that says so."""
    ui = UI[lang]
    if not ids:
        empty = ui["no_cited"] if question else ui["no_sources"]
        return f'<div class="sc-sources"><p class="sc-muted">{esc(empty)}</p></div>'
    asked = question if len(question) <= 120 else question[:120].rstrip() + "…"
    cards = []
    for i, pid in enumerate(ids, 1):
        p = corpus.by_id[pid]
        parent = p.parent if p.kind == "item" and p.parent in corpus.by_id else None
        nl_lead = f'<span class="sc-lead">{esc(corpus.by_id[parent].text)} … </span>' if parent else ""
        en_lead = f'<span class="sc-lead">{esc(corpus.english(parent))} … </span>' if parent else ""
        cards.append(
            f'<div class="sc-card" id="source-{i}" data-n="{i}" data-id="{esc(pid)}">'
            f'<div class="sc-head"><span>[{i}]</span><span class="sc-id">{esc(pid)}</span>'
            f'<span class="sc-label">{esc(corpus.label(pid, lang))}</span>'
            f'<a class="sc-link" href="{esc(browse_link(pid))}" target="_blank" rel="noopener">'
            f'{esc(ui["open"])}</a></div>'
            f'<div class="sc-cols"><div><div class="sc-col-title">{esc(ui["nl_col"])}</div>'
            f'<p lang="nl" class="sc-nl">{nl_lead}{highlight(p.text, question)}</p></div>'
            f'<div><div class="sc-col-title">{esc(ui["en_col"])}</div>'
            f'<p lang="en" class="sc-en">{en_lead}{highlight(corpus.english(pid), question)}</p></div></div></div>'
        )
    return (f'<div class="sc-sources"><h2>{esc(ui["sources"])}</h2>'
            f'<p class="sc-muted sc-for">{esc(ui["sources_for"].format(question=asked))}</p>'
            f'<p class="sc-muted">{esc(ui["sources_hint"])}</p>{"".join(cards)}</div>')


def chat_tools_html(lang: str) -> str:
    """The conversation's export button; the page's script builds the Markdown in the browser
    from the chat and the sources shown, so nothing is written on the server. It starts
    disabled (an empty chat has nothing to export); the script enables it once the chat has a
    message."""
    ui = UI[lang]
    data = {"file": "stagecode-conversation.md", "title": ui["chat_md_title"], "you": ui["you"],
            "answer": ui["assistant"], "cited": ui["cited"], "nl": ui["nl_col"], "en": ui["en_col"],
            "footer": ui["chat_md_footer"], "empty": ui["export_empty"]}
    attrs = " ".join(f'data-{k}="{esc(v)}"' for k, v in data.items())
    return (f'<button type="button" class="sc-button sc-export-chat" {attrs} disabled '
            f'title="{esc(ui["export_empty"])}">{esc(ui["export_chat"])}</button>')
