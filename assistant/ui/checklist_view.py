"""The Checklist tab: one role's provisions by phase, with tick boxes and a Markdown export."""

from __future__ import annotations

from assistant.answering.checklist import checklist
from assistant.corpus.corpus import Corpus
from assistant.ui.texts import UI
from assistant.ui.views import browse_link, esc


def _entry(corpus: Corpus, pid: str, lang: str, role: str) -> tuple[str, str]:
    return corpus.title(pid, lang), corpus.summary(pid, role, lang)


def checklist_title(role: str, track: str, lang: str) -> str:
    ui = UI[lang]
    return ui["checklist"].format(role=ui["roles"][role], track=ui["tracks"][track])


def checklist_html(corpus: Corpus, role: str, track: str, lang: str) -> str:
    """The checklist with a tick box per provision; ticks stay in the browser (the page's script
    keeps them for the session and exports them with the list, as Markdown, in the browser)."""
    ui = UI[lang]
    name = f"stagecode-checklist-{role}-{track}-{lang}.md"
    out = [f'<h2 id="checklist-title">{esc(checklist_title(role, track, lang))}</h2>',
           f'<p class="sc-muted">{esc(ui["checklist_note"])}</p>',
           f'<button type="button" class="sc-button sc-export-checklist" data-file="{esc(name)}" '
           f'data-footer="{esc(ui["md_footer"])}">{esc(ui["export"])}</button>']
    for phase, ids in checklist(corpus, role, track).items():
        out.append(f'<h3>{esc(ui["phases"][phase])}</h3><ul>')
        for pid in ids:
            title, summary = _entry(corpus, pid, lang, role)
            box = f"ck-{role}-{track}-{pid}"
            out.append(
                f'<li data-id="{esc(pid)}"><input type="checkbox" class="sc-tick" id="{esc(box)}" '
                f'data-key="{esc(box)}"> <label for="{esc(box)}"><span class="sc-id">{esc(pid)}</span> '
                f"<strong>{esc(title)}</strong>: {esc(summary)}</label> "
                f'<a class="sc-link" href="{esc(browse_link(pid))}" target="_blank" rel="noopener">'
                f"{esc(ui['link'])}</a></li>"
            )
        out.append("</ul>")
    return f'<div class="sc-list">{"".join(out)}</div>'
