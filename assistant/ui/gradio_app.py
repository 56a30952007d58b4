"""The web app: a chat, the whole code to browse, a checklist per role, and an `/ask` API.

The only module that imports gradio, and only inside `build_app`/`launch_app`/`serve`, so
the pure helpers here (checklist, Markdown export, highlighting, browse filter, HTML
rendering) work and are tested without it. Every piece of user or provision text that goes
into HTML or Markdown passes through `esc` or `md_escape`.
"""

import html
import os
import queue
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from assistant.answering import render
from assistant.answering.checklist import CHECKLIST_TRACKS, checklist
from assistant.answering.conversation import Conversation
from assistant.assistant import MAX_QUESTION, Assistant, InputError
from assistant.build import build
from assistant.corpus.corpus import Corpus
from assistant.domain import ROLES, Answer
from assistant.settings import Settings, quiet_libraries
from assistant.text.tokens import analyze, fold

if TYPE_CHECKING:
    import gradio as gr

HOST = "127.0.0.1"
PORT = 7860

# -- interface texts ----------------------------------------------------------------------

UI: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Stagecode hbo assistant",
        "notice": "Unofficial assistant. The Dutch text of the Stagecode hbo is authoritative; the "
        "English renderings are unofficial translations. Your questions are not stored or logged; the "
        "conversation is kept in memory for this browser session only.",
        "tab_chat": "Ask", "tab_browse": "Browse the code", "tab_checklist": "Checklist",
        "role": "I am", "lang": "Language",
        "roles": {"student": "Student", "company": "Company (placement)", "staff": "School staff"},
        "langs": {"auto": "Auto (language of the question)", "nl": "Nederlands", "en": "English"},
        "chatbot": "Conversation", "question": "Your question",
        "placeholder": "Ask about the Stagecode hbo, in English or Dutch",
        "ask": "Ask", "new": "New conversation", "examples": "Example questions",
        "abstained": "⚠ The code does not answer this",
        "error": "⚠ Something went wrong while answering. Please try again.",
        # optional generative answers
        "mode": "Answers",
        "modes": {"llm": "Language model ({name}), checked against the code",
                  "standard": "Standard (built from the code's text)"},
        "checking": "The language model is answering; its answer is checked against the code "
        "before it is final…",
        "sources": "Sources — the Dutch text is authoritative",
        "no_sources": "The provisions cited in the latest answer appear here, in full.",
        "nl_col": "Dutch (authoritative)", "en_col": "English (unofficial translation)",
        "open": "Open in Browse ↗", "link": "Link",
        "search": "Search the code (words or an id, e.g. VOG or 3B.vd.4)",
        "search_ph": "Type words to filter the provisions",
        "count": "{n} of {total} provisions", "none": "No provision matches this search.",
        "track": "Programme", "tracks": {"vd": "Full-time / part-time", "duaal": "Dual"},
        "export": "Export Markdown",
        "md_footer": "Unofficial checklist made by the Stagecode hbo assistant. The Dutch text of "
        "the Stagecode hbo is authoritative.",
        "checklist": "Checklist for {role} — {track}",
        "checklist_note": "Every provision of the Stagecode hbo that concerns you, by phase. "
        "The Dutch text is authoritative; see the Browse tab for the full text.",
        "phases": {"before": "Before the placement", "during": "During the placement",
                   "discrimination": "Preventing internship discrimination", "general": "General"},
        "examples_by_role": {
            "student": ["Do I get my travel costs reimbursed?",
                        "How often does my school contact me during my internship?",
                        "Where can I report internship discrimination?"],
            "company": ["Can we charge the school a fee for supervising an intern?",
                        "Do we have to pay an intern who fills an extra position?",
                        "Which information about our company must the student get?"],
            "staff": ["Who is involved in the final assessment of an intern?",
                      "What happens after a student reports discrimination?",
                      "How often must we visit the company in a dual programme?"],
        },
    },
    "nl": {
        "title": "Stagecode hbo-assistent",
        "notice": "Onofficiële assistent. De Nederlandse tekst van de Stagecode hbo is leidend; de "
        "Engelse weergave is een onofficiële vertaling. Je vragen worden niet opgeslagen of gelogd; het "
        "gesprek blijft alleen in het geheugen, voor deze browsersessie.",
        "tab_chat": "Vragen", "tab_browse": "Code doorbladeren", "tab_checklist": "Checklist",
        "role": "Ik ben", "lang": "Taal",
        "roles": {"student": "Student", "company": "Bedrijf (stageplek)", "staff": "Medewerker hogeschool"},
        "langs": {"auto": "Automatisch (taal van de vraag)", "nl": "Nederlands", "en": "English"},
        "chatbot": "Gesprek", "question": "Je vraag",
        "placeholder": "Stel een vraag over de Stagecode hbo, in het Nederlands of Engels",
        "ask": "Vraag", "new": "Nieuw gesprek", "examples": "Voorbeeldvragen",
        "abstained": "⚠ De code geeft hier geen antwoord op",
        "error": "⚠ Er ging iets mis bij het beantwoorden. Probeer het opnieuw.",
        # optional generative answers
        "mode": "Antwoorden",
        "modes": {"llm": "Taalmodel ({name}), gecontroleerd aan de code",
                  "standard": "Standaard (opgebouwd uit de tekst van de code)"},
        "checking": "Het taalmodel antwoordt; het antwoord wordt aan de code gecontroleerd voordat "
        "het definitief is…",
        "sources": "Bronnen — de Nederlandse tekst is leidend",
        "no_sources": "Hier verschijnen de bepalingen die het laatste antwoord noemt, volledig.",
        "nl_col": "Nederlands (leidend)", "en_col": "Engels (onofficiële vertaling)",
        "open": "Open in Doorbladeren ↗", "link": "Link",
        "search": "Zoek in de code (woorden of een id, bijv. VOG of 3B.vd.4)",
        "search_ph": "Typ woorden om de bepalingen te filteren",
        "count": "{n} van {total} bepalingen", "none": "Geen bepaling past bij deze zoekopdracht.",
        "track": "Opleidingsvorm", "tracks": {"vd": "Voltijd / deeltijd", "duaal": "Duaal"},
        "export": "Exporteer Markdown",
        "md_footer": "Onofficiële checklist, gemaakt door de Stagecode hbo-assistent. De "
        "Nederlandse tekst van de Stagecode hbo is leidend.",
        "checklist": "Checklist voor {role} — {track}",
        "checklist_note": "Alle bepalingen van de Stagecode hbo die jou aangaan, per fase. De "
        "Nederlandse tekst is leidend; het tabblad Doorbladeren toont de volledige tekst.",
        "phases": {"before": "Voor de stage", "during": "Tijdens de stage",
                   "discrimination": "Voorkomen van stagediscriminatie", "general": "Algemeen"},
        "examples_by_role": {
            "student": ["Krijg ik mijn reiskosten vergoed?",
                        "Hoe vaak zijn er contactmomenten tijdens mijn stage?",
                        "Moet ik zelf op tijd een stageplek zoeken?"],
            "company": ["Mogen we de hogeschool laten betalen voor het begeleiden van een stagiair?",
                        "Moeten we een stagiair in een extra functie betalen?",
                        "Welke informatie moeten we de student vooraf geven?"],
            "staff": ["Wie is betrokken bij de eindbeoordeling van een stagiair?",
                      "Wat gebeurt er nadat een student discriminatie meldt?",
                      "Hoe vaak moeten we het bedrijf bezoeken bij een duale opleiding?"],
        },
    },
}

LANG_CHOICES = ("auto", "nl", "en")

CSS = """
.sc-notice {padding: .5rem .75rem; border-left: 4px solid var(--color-accent); background: var(--background-fill-secondary); border-radius: 4px;}
.sc-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .8rem; margin: .5rem 0;}
.sc-head {display: flex; flex-wrap: wrap; gap: .5rem; align-items: baseline; margin-bottom: .3rem;}
.sc-id {font-family: var(--font-mono); font-weight: 600;}
.sc-label {font-weight: 600;}
.sc-link {margin-left: auto; font-size: .9em;}
.sc-cols {display: grid; grid-template-columns: 1fr 1fr; gap: .8rem;}
.sc-cols p {margin: .2rem 0;}
.sc-col-title {font-size: .8em; text-transform: uppercase; letter-spacing: .03em; opacity: .75;}
.sc-muted {opacity: .75;}
.sc-list ul {margin: .2rem 0 .8rem 0;}
@media (max-width: 720px) {.sc-cols {grid-template-columns: 1fr;}}
"""


def ui_lang(lang_choice: str | None) -> str:
    """The language of the interface for a language-picker value (auto → English)."""
    return "nl" if lang_choice == "nl" else "en"


def answer_lang(lang_choice: str | None) -> str | None:
    """The `lang` argument of `Assistant.ask` for a picker value: None lets it detect."""
    choice = (lang_choice or "auto").strip().lower()
    return None if choice == "auto" else choice


def examples(role: str, lang: str) -> list[str]:
    return list(UI[lang]["examples_by_role"].get(role, UI[lang]["examples_by_role"]["student"]))


# -- escaping --------------------------------------------------------------------------------

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

_WORD = re.compile(r"\w+", re.UNICODE)


def _stems(word: str) -> set[str]:
    return set(analyze(word)) | {fold(word)}


def question_stems(question: str) -> set[str]:
    """Stems of the question's content words (stop words and 1–2 letter words left out)."""
    return {s for w in _WORD.findall(question) if len(w) > 2 for s in analyze(w)}


def highlight(text: str, question: str) -> str:
    """HTML of `text`, escaped, with the words it shares with the question in <mark>."""
    wanted = question_stems(question)
    out: list[str] = []
    last = 0
    for m in _WORD.finditer(text):
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


# -- browsing --------------------------------------------------------------------------------


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
    tokens = _WORD.findall(fold(query))
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


# -- the checklist ---------------------------------------------------------------------------


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
    path = _EXPORT_DIR / f"stagecode-checklist-{role}-{track}-{lang}.md"
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_text(checklist_markdown(corpus, role, track, lang), encoding="utf-8")
    tmp.replace(path)
    return str(path)


# -- the app ---------------------------------------------------------------------------------


def _quiet_environment() -> None:
    """No analytics, telemetry or hub calls; uploads and downloads in a private temp dir."""
    quiet_libraries()
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    if not os.environ.get("GRADIO_TEMP_DIR"):
        os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="stagecode-gradio-")


def _choices(mapping: dict[str, str], keys: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(mapping[k], k) for k in keys]


def _api_failure(exc: Exception) -> Exception:
    """An unexpected error in an API call: logged by its type only (a message or traceback could
    hold the question), and a generic message for the caller — as the chat does."""
    import gradio as gr

    print(f"stagecode ui: answering failed: {type(exc).__name__}")
    return gr.Error(UI["en"]["error"], print_exception=False)


class _Sessions:
    """Conversations of `/chat` API callers by Gradio session, in memory only.

    At most `cap` sessions and `turns` turns each; a session unused for `ttl` seconds is
    dropped. Nothing is written anywhere.
    """

    def __init__(self, cap: int = 1000, ttl: float = 3600.0, turns: int = 20) -> None:
        self.cap, self.ttl, self.turns = cap, ttl, turns
        self._items: OrderedDict[str, tuple[float, Conversation]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, new: bool = False) -> Conversation:
        """The session's conversation (a fresh one if `new`, unknown or expired)."""
        now = time.monotonic()
        with self._lock:
            used, old = self._items.pop(key, (0.0, None))  # re-inserted below: most recent last
            if old is not None and now - used > self.ttl:
                old = None
            while self._items and (len(self._items) >= self.cap
                                   or now - next(iter(self._items.values()))[0] > self.ttl):
                self._items.popitem(last=False)  # least recently used first
            conv = old if old is not None and not new else Conversation()
            del conv.turns[:-self.turns]
            self._items[key] = (now, conv)
            return conv

    def __len__(self) -> int:
        return len(self._items)


class _Handlers:
    """The functions behind the app's events; one instance per app, shared by all sessions."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.corpus = assistant.corpus
        self._lock = threading.Lock()  # one question at a time through the retriever
        self.sessions = _Sessions()  # the `/chat` API's conversations

    def ask(self, question: object, role: str, lang: str | None, conv: Conversation | None,
            on_token: Any = None, llm: bool = True) -> Answer:
        with self._lock:
            return self.assistant.ask(question, role, lang, conv, on_token=on_token, llm=llm)

    def api_ask(self, question: str, role: str = "student", lang: str = "auto") -> dict:
        """Answer one question about the Stagecode hbo, citing its provisions.

        role: student | company | staff. lang: auto (the question's language) | nl | en.
        Returns {language, answer, abstained, citations: [{id, label, text, text_en}]}, as
        `stagecode ask --json`. Each call is a fresh conversation; nothing is stored.
        """
        import gradio as gr

        try:
            return self.ask(question, role, answer_lang(lang), Conversation()).to_public_json()
        except InputError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception as exc:  # Gradio would print the traceback, question and all
            raise _api_failure(exc) from None

    def api_chat(self, question: str, role: str, lang: str, new_conversation: bool,
                 session: str | None) -> dict:
        """`/ask` with memory: follow-ups resolve against the same API session's earlier turns.

        Returns the `/ask` shape plus `resolved_question` (the question as searched, when a
        follow-up was joined to the previous turn). The conversation is kept in memory only,
        per Gradio session (each gradio_client `Client` is one), and dropped when unused.
        """
        import gradio as gr

        conv = self.sessions.get(session, new_conversation) if session else Conversation()
        try:
            answer = self.ask(question, role, answer_lang(lang), conv)
        except InputError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception as exc:  # as in api_ask
            raise _api_failure(exc) from None
        return answer.to_public_json() | {"resolved_question": answer.resolved_question}

    def respond(self, question: str, role: str, lang_choice: str, history: list | None,
                conv: Conversation | None, on_token: Any = None,
                llm: bool = True) -> tuple[list, Conversation, Any, str]:
        import gradio as gr

        history = list(history or [])
        conv = conv if isinstance(conv, Conversation) else Conversation()
        user = user_markdown(question)
        if user.strip():
            history.append({"role": "user", "content": user})
        try:
            answer = self.ask(question, role, answer_lang(lang_choice), conv, on_token, llm)
        except InputError as exc:
            history.append({"role": "assistant", "content": f"**⚠** {md_escape(str(exc))}"})
            return history, conv, gr.update(), question
        except Exception as exc:  # never show a traceback in the chat
            print(f"stagecode ui: answering failed: {type(exc).__name__}")
            history.append({"role": "assistant", "content": UI[ui_lang(lang_choice)]["error"]})
            return history, conv, gr.update(), question
        history.append({"role": "assistant", "content": chat_markdown(answer)})
        ids = [c.id for c in answer.citations]
        return history, conv, sources_html(self.corpus, ids, answer.question, ui_lang(lang_choice)), ""

    # -- optional generative answers: the language model's text streams into the chat --

    def mode_choices(self, lang: str) -> list[tuple[str, str]]:
        """The answer-mode picker's choices: the language model (named) or the standard answer."""
        gen = self.assistant.generator
        modes = UI[lang]["modes"]
        return [(modes["llm"].format(name=gen.name if gen else "?"), "llm"), (modes["standard"], "standard")]

    def respond_stream(self, question: str, role: str, lang_choice: str, history: list | None,
                       conv: Conversation | None, mode: str = "llm") -> Iterator[tuple]:
        """Like `respond`, showing the language model's text as it comes, then the checked answer."""
        import gradio as gr

        if mode == "standard" or self.assistant.generator is None:
            yield self.respond(question, role, lang_choice, history, conv, llm=False)
            return
        conv = conv if isinstance(conv, Conversation) else Conversation()
        shown = list(history or [])
        user = user_markdown(question)
        if user.strip():
            shown.append({"role": "user", "content": user})
        tokens: queue.Queue[str | None] = queue.Queue()
        done: dict[str, tuple] = {}

        def work() -> None:
            try:
                done["out"] = self.respond(question, role, lang_choice, history, conv, tokens.put)
            finally:
                tokens.put(None)

        threading.Thread(target=work, name="stagecode-ui-answer", daemon=True).start()
        checking = f"*{md_escape(UI[ui_lang(lang_choice)]['checking'])}*"
        yield [*shown, {"role": "assistant", "content": checking}], conv, gr.update(), gr.update()
        text, finished = "", False
        while not finished:
            pieces = [tokens.get()]
            while True:
                try:
                    pieces.append(tokens.get_nowait())
                except queue.Empty:
                    break
            finished = None in pieces
            text += "".join(p for p in pieces if p)
            if text and not finished:
                draft = {"role": "assistant", "content": f"{checking}\n\n{md_escape(text)}"}
                yield [*shown, draft], conv, gr.update(), gr.update()
        if "out" in done:
            yield done["out"]
        else:  # respond itself failed (it catches answering errors, so this is unexpected)
            yield [*shown, {"role": "assistant", "content": UI[ui_lang(lang_choice)]["error"]}], conv, \
                gr.update(), question

    # --

    def new_conversation(self, lang_choice: str) -> tuple[list, Conversation, str, str]:
        return [], Conversation(), sources_html(self.corpus, [], "", ui_lang(lang_choice)), ""

    def role_changed(self, role: str, lang_choice: str) -> list:
        import gradio as gr

        return [gr.update(value=q) for q in examples(role, ui_lang(lang_choice))]

    def checklist_changed(self, role: str, track: str, lang_choice: str) -> tuple[str, str]:
        lang = ui_lang(lang_choice)
        return checklist_html(self.corpus, role, track, lang), export_checklist(self.corpus, role, track, lang)

    def browse(self, query: str, lang_choice: str) -> str:
        return browse_html(self.corpus, query, ui_lang(lang_choice))

    def relabel(self, lang_choice: str, role: str, ch_role: str, ch_track: str, query: str,
                conv: Conversation | None) -> list:
        """Every label of the interface in the chosen language (auto → English)."""
        import gradio as gr

        lang = ui_lang(lang_choice)
        ui = UI[lang]
        last = conv.last if isinstance(conv, Conversation) else None
        sources = sources_html(self.corpus, last.cited if last else [], last.question if last else "", lang)
        roles = _choices(ui["roles"], ROLES)
        ch_html, ch_file = self.checklist_changed(ch_role, ch_track, lang_choice)
        return [
            _header(lang),
            gr.update(label=ui["tab_chat"]), gr.update(label=ui["tab_browse"]),
            gr.update(label=ui["tab_checklist"]),
            gr.update(label=ui["role"], choices=roles),
            gr.update(label=ui["lang"], choices=_choices(ui["langs"], LANG_CHOICES)),
            gr.update(label=ui["chatbot"]),
            gr.update(label=ui["question"], placeholder=ui["placeholder"]),
            gr.update(value=ui["ask"]), gr.update(value=ui["new"]),
            f"**{ui['examples']}**",
            *[gr.update(value=q) for q in examples(role, lang)],
            sources,
            gr.update(label=ui["search"], placeholder=ui["search_ph"]),
            browse_html(self.corpus, query, lang),
            gr.update(label=ui["role"], choices=roles),
            gr.update(label=ui["track"], choices=_choices(ui["tracks"], CHECKLIST_TRACKS)),
            ch_html,
            gr.update(label=ui["export"], value=ch_file),
            # the answer-mode picker exists only with a language model
            *([gr.update(label=ui["mode"], choices=self.mode_choices(lang))]
              if self.assistant.generator is not None else []),
        ]

    def on_load(self, params: dict[str, str]) -> list:
        """Deep links: `?id=3B.vd.4` opens Browse at that provision; `?lang=nl` sets the language."""
        import gradio as gr

        lang = params.get("lang", "").lower()
        lang_update = gr.update(value=lang) if lang in ("nl", "en") else gr.update()
        pid = find_id(self.corpus, params.get("id", ""))
        if pid is None:
            return [gr.update(), gr.update(), gr.update(), lang_update]
        ui_language = lang if lang in ("nl", "en") else "en"
        return [gr.Tabs(selected="browse"), pid, browse_html(self.corpus, pid, ui_language), lang_update]


def _header(lang: str) -> str:
    ui = UI[lang]
    return f'<h1 style="margin:0 0 .4rem 0">{esc(ui["title"])}</h1><div class="sc-notice">{esc(ui["notice"])}</div>'


def build_app(assistant: Assistant) -> "gr.Blocks":
    """The Gradio app: Ask, Browse and Checklist tabs, plus the `/ask` and `/chat` API endpoints."""
    _quiet_environment()
    import gradio as gr

    h = _Handlers(assistant)
    corpus = assistant.corpus
    ui = UI["en"]
    private: dict[str, Any] = {"api_visibility": "private"}
    with gr.Blocks(title="Stagecode hbo", analytics_enabled=False) as demo:
        header = gr.HTML(_header("en"), js_on_load=None)
        with gr.Tabs(selected="chat") as tabs:
            with gr.Tab(ui["tab_chat"], id="chat", elem_id="tab-chat") as tab_chat:
                with gr.Row():
                    role = gr.Radio(_choices(ui["roles"], ROLES), value="student", label=ui["role"],
                                    elem_id="role")
                    lang = gr.Radio(_choices(ui["langs"], LANG_CHOICES), value="auto", label=ui["lang"],
                                    elem_id="lang")
                    # optional generative answers: only with a backend configured
                    mode = (gr.Radio(h.mode_choices("en"), value="llm", label=ui["mode"], elem_id="answer-mode")
                            if assistant.generator is not None else None)
                conv = gr.State(Conversation())
                chatbot = gr.Chatbot(label=ui["chatbot"], height=380, elem_id="chatbot",
                                     sanitize_html=True, render_markdown=True, allow_tags=False,
                                     latex_delimiters=[], feedback_options=None, buttons=["copy"])
                with gr.Row():
                    question = gr.Textbox(label=ui["question"], placeholder=ui["placeholder"], scale=5,
                                          max_length=MAX_QUESTION * 2, elem_id="question")
                    ask_btn = gr.Button(ui["ask"], variant="primary", scale=1, elem_id="ask")
                examples_title = gr.Markdown(f"**{ui['examples']}**")
                with gr.Row():
                    example_btns = [gr.Button(q, size="sm", elem_classes=["sc-example"])
                                    for q in examples("student", "en")]
                new_btn = gr.Button(ui["new"], size="sm", variant="secondary", elem_id="new-conversation")
                sources = gr.HTML(sources_html(corpus, [], "", "en"), elem_id="sources", js_on_load=None)
            with gr.Tab(ui["tab_browse"], id="browse", elem_id="tab-browse") as tab_browse:
                search = gr.Textbox(label=ui["search"], placeholder=ui["search_ph"], elem_id="browse-search")
                browse = gr.HTML(browse_html(corpus, "", "en"), elem_id="browse", js_on_load=None)
            with gr.Tab(ui["tab_checklist"], id="checklist", elem_id="tab-checklist") as tab_checklist:
                with gr.Row():
                    ch_role = gr.Radio(_choices(ui["roles"], ROLES), value="student", label=ui["role"],
                                       elem_id="checklist-role")
                    ch_track = gr.Radio(_choices(ui["tracks"], CHECKLIST_TRACKS), value="vd",
                                        label=ui["track"], elem_id="checklist-track")
                download = gr.DownloadButton(ui["export"], value=export_checklist(corpus, "student", "vd", "en"),
                                             elem_id="export")
                checklist_view = gr.HTML(checklist_html(corpus, "student", "vd", "en"),
                                         elem_id="checklist", js_on_load=None)

        chat_out = [chatbot, conv, sources, question]
        # with a language model the answer streams (respond_stream); without, nothing changes
        answer_fn, extra = (h.respond_stream, [mode]) if mode is not None else (h.respond, [])
        for trigger in (ask_btn.click, question.submit):
            trigger(answer_fn, [question, role, lang, chatbot, conv, *extra], chat_out, **private)
        for btn in example_btns:
            btn.click(answer_fn, [btn, role, lang, chatbot, conv, *extra], chat_out, **private)
        new_btn.click(h.new_conversation, [lang], chat_out, **private)
        chatbot.clear(h.new_conversation, [lang], chat_out, **private)
        role.change(h.role_changed, [role, lang], example_btns, **private)
        search.change(h.browse, [search, lang], browse, **private)
        for control in (ch_role, ch_track):
            control.change(h.checklist_changed, [ch_role, ch_track, lang], [checklist_view, download], **private)
        lang.change(
            h.relabel, [lang, role, ch_role, ch_track, search, conv],
            [header, tab_chat, tab_browse, tab_checklist, role, lang, chatbot, question, ask_btn, new_btn,
             examples_title, *example_btns, sources, search, browse, ch_role, ch_track, checklist_view,
             download, *([mode] if mode is not None else [])],
            **private,
        )

        def on_load(request: gr.Request) -> list:
            return h.on_load(dict(request.query_params) if request is not None else {})

        demo.load(on_load, None, [tabs, search, browse, lang], **private)
        gr.api(h.api_ask, api_name="ask")

        def chat(question: str, role: str = "student", lang: str = "auto", new_conversation: bool = False,
                 request: gr.Request = None) -> dict:  # type: ignore[assignment]
            """Answer a question in this API session's conversation (follow-ups work), citing
            the provisions. role: student | company | staff. lang: auto | nl | en.
            new_conversation: start over. Returns the /ask shape plus resolved_question."""
            return h.api_chat(question, role, lang, new_conversation,
                              getattr(request, "session_hash", None))

        gr.api(chat, api_name="chat")  # a stateful endpoint, one conversation per session
    return demo


def launch_app(demo: "gr.Blocks", host: str = HOST, port: int = PORT, prevent_thread_lock: bool = False,
               quiet: bool = False) -> Any:
    """Launch locally: no share link, no analytics, no monitoring, no run history."""
    import gradio as gr

    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    return demo.launch(
        server_name=host, server_port=port, share=False, prevent_thread_lock=prevent_thread_lock,
        show_error=False, quiet=quiet, ssr_mode=False, mcp_server=False, pwa=False,
        enable_monitoring=False, run_history=False, footer_links=["api"],
        theme=theme, css=CSS, inbrowser=False,
    )


def serve(settings: Settings, host: str = HOST, port: int = PORT) -> None:
    """Load the assistant (building the index if missing) and serve the app until stopped."""
    _quiet_environment()
    launch_app(build_app(build(settings, progress=True)), host, port)
