"""The Checklist tab: one role's provisions by phase, as HTML and as a Markdown download."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

from assistant.answering.checklist import checklist
from assistant.corpus.corpus import Corpus
from assistant.ui.texts import UI
from assistant.ui.views import browse_link, esc


def _entry(corpus: Corpus, pid: str, lang: str, role: str) -> tuple[str, str]:
    return corpus.title(pid, lang), corpus.summary(pid, role, lang)


def checklist_title(role: str, track: str, lang: str) -> str:
    ui = UI[lang]
    return ui["checklist"].format(role=ui["roles"][role], track=ui["tracks"][track])


def checklist_markdown(corpus: Corpus, role: str, track: str, lang: str) -> str:
    """The checklist as a Markdown document: a heading per phase, a checkbox per provision."""
    ui = UI[lang]
    lines = [f"# {checklist_title(role, track, lang)}", "", ui["checklist_note"], ""]
    for phase, ids in checklist(corpus, role, track).items():
        lines += [f"## {ui['phases'][phase]}", ""]
        for pid in ids:
            title, summary = _entry(corpus, pid, lang, role)
            lines.append(f"- [ ] **{pid}** {title}: {summary}")
        lines.append("")
    lines.append(f"_{ui['md_footer']}_")
    return "\n".join(lines) + "\n"


def checklist_html(corpus: Corpus, role: str, track: str, lang: str) -> str:
    ui = UI[lang]
    out = [f"<h3>{esc(checklist_title(role, track, lang))}</h3>",
           f'<p class="sc-muted">{esc(ui["checklist_note"])}</p>']
    for phase, ids in checklist(corpus, role, track).items():
        out.append(f'<h4>{esc(ui["phases"][phase])}</h4><ul>')
        for pid in ids:
            title, summary = _entry(corpus, pid, lang, role)
            out.append(
                f'<li data-id="{esc(pid)}"><a class="sc-id" href="{esc(browse_link(pid))}" '
                f'target="_blank" rel="noopener">{esc(pid)}</a> <strong>{esc(title)}</strong>: '
                f"{esc(summary)}</li>"
            )
        out.append("</ul>")
    return f'<div class="sc-list">{"".join(out)}</div>'


_EXPORT_DIR: Path | None = None


def export_checklist(corpus: Corpus, role: str, track: str, lang: str) -> str:
    """Write the checklist's Markdown to a temporary .md file; return its path."""
    global _EXPORT_DIR
    if _EXPORT_DIR is None or not _EXPORT_DIR.is_dir():
        _EXPORT_DIR = Path(tempfile.mkdtemp(prefix="stagecode-checklists-"))
        atexit.register(shutil.rmtree, _EXPORT_DIR, ignore_errors=True)
    path = _EXPORT_DIR / f"stagecode-checklist-{role}-{track}-{lang}.md"
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_text(checklist_markdown(corpus, role, track, lang), encoding="utf-8")
    tmp.replace(path)
    return str(path)
