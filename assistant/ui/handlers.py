"""The functions behind the app's events and API endpoints; one instance per app.

The assistant, its index and models are read-only once loaded, so the handlers hold no lock:
each open page has its own conversation (Gradio state), each `/chat` caller its own
(`Sessions`), and Gradio's queue bounds how many answers run at once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from assistant.answering.checklist import CHECKLIST_TRACKS
from assistant.answering.conversation import Conversation
from assistant.assistant import MAX_QUESTION, Assistant, InputError, validate
from assistant.domain import ROLES, Answer
from assistant.ui.browse import browse_html, find_id, unknown_id_html
from assistant.ui.checklist_view import checklist_html
from assistant.ui.sessions import Sessions
from assistant.ui.texts import LANG_CHOICES, UI, answer_lang, browser_lang, examples, ui_lang
from assistant.ui.views import as_message, chat_text, chat_tools_html, esc, sources_html, user_text


def choices(mapping: dict[str, str], keys: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(mapping[k], k) for k in keys]


def header_html(lang: str) -> str:
    """The title and the notice; `data-lang` tells the page's script the language shown, which
    it gives to <html lang>, and `data-empty-question` what it says when Ask finds the box empty."""
    ui = UI[lang]
    return (f'<div class="sc-header" data-lang="{lang}" data-empty-question="{esc(ui["question_empty"])}">'
            f'<h1 style="margin:0 0 .4rem 0">{esc(ui["title"])}</h1>'
            f'<div class="sc-notice">{esc(ui["notice"])}</div></div>')


def question_info(lang: str) -> str:
    """The line under the question box: Enter sends, Shift+Enter adds a line, and the length limit
    (a longer text is refused when sent and stays in the box), written as the language writes
    thousands."""
    limit = f"{MAX_QUESTION:,}".replace(",", "." if lang == "nl" else ",")
    return str(UI[lang]["question_info"]).format(limit=limit)


def _api_failure(exc: Exception) -> Exception:
    """An unexpected error in an API call: logged by its type only (a message or traceback could
    hold the question), and a generic message for the caller — as the chat does."""
    import gradio as gr

    print(f"stagecode ui: answering failed: {type(exc).__name__}")
    return gr.Error(UI["en"]["error"], print_exception=False)


@dataclass
class Chat(Conversation):
    """A chat page's conversation, and the answer its sources panel shows: the provisions that
    answer cited and its question ("" before the first answer). A turn the code did not answer
    is no conversation turn, but it is the latest answer, so the panel follows this, not `last`."""

    cited: list[str] = field(default_factory=list)
    asked: str = ""
    #: an answer for this page is running (see `Handlers.respond`)
    answering: bool = False


class Handlers:
    """The functions behind the app's events; one instance per app, shared by all sessions."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.corpus = assistant.corpus
        self.sessions = Sessions()  # the `/chat` API's conversations
        self._claims = threading.Lock()  # guards Chat.answering: test and set at once

    def _claim(self, conv: Conversation | None) -> bool:
        """Whether this request may answer in the chat: one answer at a time per page."""
        if not isinstance(conv, Chat):
            return True
        with self._claims:
            if conv.answering:
                return False
            conv.answering = True
            return True

    def _release(self, conv: Conversation | None) -> None:
        if isinstance(conv, Chat):
            conv.answering = False

    def ask(self, question: object, role: str, lang: str | None, conv: Conversation | None,
            on_token: Any = None, llm: bool = True, reader: str | None = None) -> Answer:
        return self.assistant.ask(question, role, lang, conv, on_token=on_token, llm=llm, reader=reader)

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

    def check(self, question: object, role: str, lang_choice: str) -> dict:
        """The question box's verdict before anything is answered (`Assistant.ask`'s own input
        check): an empty or too long question is refused with its message on the box, so it
        adds no bubble to the chat and leaves the previous answer the latest one.

        Gradio sends a refusal as HTTP 422, which the browser logs as an error, so the page's
        script does not send an empty box at all (it says so on the box itself); this check
        still refuses what the page cannot stop: text put in the box past its length limit by a
        script, or a request not made by the page."""
        import gradio as gr

        try:
            validate(question, role, answer_lang(lang_choice))
        except InputError as exc:
            return gr.validate(False, str(exc))
        return gr.validate(True, "")

    def respond(self, question: str, role: str, lang_choice: str, history: list | None,
                conv: Conversation | None, shown: str = "en", on_token: Any = None,
                llm: bool = True) -> tuple[list, Conversation, Any, str, str]:
        """Answer in the chat; returns the chat, the conversation, the sources panel, the question
        box (kept when refused) and the interface language (Auto: the answer's).

        The panel shows what the new answer cites (none: its empty state). When nothing was
        answered (a refused question, a failure) it keeps the previous answer's sources, which
        that answer's [n] links still point to; the panel names the question they answer.

        A second ask from the same page while an answer runs (clicks faster than the page can
        mark the first as running) changes nothing: both started from the same chat, and the
        later result would replace the earlier one's question and answer."""
        import gradio as gr

        if not self._claim(conv):
            return (gr.skip(),) * 5  # type: ignore[return-value]
        try:
            return self._respond(question, role, lang_choice, history, conv, shown, on_token, llm)
        finally:
            self._release(conv)

    def _respond(self, question: str, role: str, lang_choice: str, history: list | None,
                 conv: Conversation | None, shown: str, on_token: Any, llm: bool
                 ) -> tuple[list, Conversation, Any, str, str]:
        import gradio as gr

        history = list(history or [])
        conv = conv if isinstance(conv, Conversation) else Chat()
        # the chat on screen has messages this conversation does not (the server restarted)
        conv.lost = conv.lost or (not conv.turns and any(m.get("role") == "user" for m in history
                                                          if isinstance(m, dict)))
        shown = ui_lang(lang_choice, shown)
        user = user_text(question)
        if user.strip():
            history.append({"role": "user", "content": user})
        try:
            # a word or two says little of its language: the one the page is read in decides
            answer = self.ask(question, role, answer_lang(lang_choice), conv, on_token, llm, reader=shown)
        except InputError as exc:
            warning = {"role": "assistant", "content": as_message(f"⚠ {exc}")}
            if not history or history[-1] != warning:  # pressing Ask again on the same mistake: once
                history.append(warning)
            return history, conv, gr.update(), question, shown
        except Exception as exc:  # never show a traceback in the chat
            print(f"stagecode ui: answering failed: {type(exc).__name__}")
            history.append({"role": "assistant", "content": UI[shown]["error"]})
            return history, conv, gr.update(), question, shown
        history.append({"role": "assistant", "content": chat_text(answer)})
        shown = ui_lang(lang_choice, answer.language)
        ids = [c.id for c in answer.citations]
        if isinstance(conv, Chat):
            conv.cited, conv.asked = ids, answer.question
        return history, conv, sources_html(self.corpus, ids, answer.question, shown), "", shown

    # -- optional generative answers: the language model's text streams into the chat --

    def mode_choices(self, lang: str) -> list[tuple[str, str]]:
        """The answer-mode picker's choices: the language model (named) or the standard answer."""
        gen = self.assistant.generator
        modes = UI[lang]["modes"]
        return [(modes["llm"].format(name=gen.name if gen else "?"), "llm"), (modes["standard"], "standard")]

    def respond_stream(self, question: str, role: str, lang_choice: str, history: list | None,
                       conv: Conversation | None, shown: str = "en", mode: str = "llm") -> Iterator[tuple]:
        """Like `respond`, showing the language model's text as it comes, then the checked answer."""
        import gradio as gr

        if mode == "standard" or self.assistant.generator is None:
            yield self.respond(question, role, lang_choice, history, conv, shown, llm=False)
            return
        conv = conv if isinstance(conv, Conversation) else Chat()
        if not self._claim(conv):  # as in respond: one answer at a time per page
            yield (gr.skip(),) * 5
            return
        chat = list(history or [])
        user = user_text(question)
        if user.strip():
            chat.append({"role": "user", "content": user})
        tokens: queue.Queue[str | None] = queue.Queue()
        done: dict[str, tuple] = {}

        def work() -> None:
            try:
                done["out"] = self._respond(question, role, lang_choice, history, conv, shown, tokens.put, True)
            finally:
                self._release(conv)
                tokens.put(None)

        threading.Thread(target=work, name="stagecode-ui-answer", daemon=True).start()
        checking = UI[ui_lang(lang_choice, shown)]["checking"]
        yield [*chat, {"role": "assistant", "content": checking}], conv, gr.update(), gr.update(), shown
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
                draft = {"role": "assistant", "content": as_message(f"{checking}\n\n{text}")}
                yield [*chat, draft], conv, gr.update(), gr.update(), shown
        if "out" in done:
            yield done["out"]
        else:  # respond itself failed (it catches answering errors, so this is unexpected)
            yield [*chat, {"role": "assistant", "content": UI[ui_lang(lang_choice, shown)]["error"]}], conv, \
                gr.update(), question, shown

    # --

    def new_conversation(self, lang_choice: str, shown: str) -> tuple[list, Conversation, str, str, str]:
        shown = ui_lang(lang_choice, shown)
        return [], Chat(), sources_html(self.corpus, [], "", shown), "", shown

    def role_changed(self, role: str, lang_choice: str, shown: str) -> list:
        """The role's example questions, and the Checklist tab's role set to it (the reader who
        says who they are on the Ask tab means it there too; that control can still be changed)."""
        import gradio as gr

        return [*(gr.update(value=q) for q in examples(role, ui_lang(lang_choice, shown))), gr.update(value=role)]

    def checklist_changed(self, role: str, track: str, lang_choice: str, shown: str) -> str:
        return checklist_html(self.corpus, role, track, ui_lang(lang_choice, shown))

    def browse(self, query: str, lang_choice: str, shown: str) -> tuple[str, str]:
        """The matching provisions, and no more note about an unknown deep link."""
        return browse_html(self.corpus, query, ui_lang(lang_choice, shown)), ""

    def relabel(self, lang_choice: str, shown: str, role: str, ch_role: str, ch_track: str, query: str,
                conv: Conversation | None) -> dict[str, Any]:
        """Every label of the interface in its language (the picked one; Auto: that of the last
        answer, at first the browser's), by the name of the component it goes to (`build_app`)."""
        import gradio as gr

        lang = ui_lang(lang_choice, shown)
        ui = UI[lang]
        cited, asked = (conv.cited, conv.asked) if isinstance(conv, Chat) else ([], "")
        roles = choices(ui["roles"], ROLES)
        out: dict[str, Any] = {
            "header": header_html(lang),
            "tab_chat": gr.update(label=ui["tab_chat"]),
            "tab_browse": gr.update(label=ui["tab_browse"]),
            "tab_checklist": gr.update(label=ui["tab_checklist"]),
            "role": gr.update(label=ui["role"], choices=roles),
            "lang": gr.update(label=ui["lang"], choices=choices(ui["langs"], LANG_CHOICES)),
            "chatbot": gr.update(label=ui["chatbot"]),
            "question": gr.update(label=ui["question"], placeholder=ui["placeholder"], info=question_info(lang)),
            "ask": gr.update(value=ui["ask"]),
            "new": gr.update(value=ui["new"]),
            "examples_title": f"**{ui['examples']}**",
            "sources": sources_html(self.corpus, cited, asked, lang),
            "search": gr.update(label=ui["search"], placeholder=ui["search_ph"]),
            "browse": browse_html(self.corpus, query, lang),
            "ch_role": gr.update(label=ui["role"], choices=roles),
            "ch_track": gr.update(label=ui["track"], choices=choices(ui["tracks"], CHECKLIST_TRACKS)),
            "checklist": self.checklist_changed(ch_role, ch_track, lang_choice, shown),
            "chat_tools": chat_tools_html(lang),
            "shown": lang,
        }
        out |= {f"example_{i}": gr.update(value=q) for i, q in enumerate(examples(role, lang))}
        if self.assistant.generator is not None:  # the answer-mode picker exists only then
            out["mode"] = gr.update(label=ui["mode"], choices=self.mode_choices(lang))
        return out

    def on_load(self, params: dict[str, str], accept_language: str | None) -> list:
        """The first screen: `?id=3B.vd.4` opens Browse at that provision (an unknown id says so,
        with the nearest ids); `?lang=nl` picks the language; else the browser's language shows."""
        import gradio as gr

        lang = params.get("lang", "").lower()
        lang_update = gr.update(value=lang) if lang in ("nl", "en") else gr.update()
        shown = lang if lang in ("nl", "en") else browser_lang(accept_language)
        wanted = params.get("id", "")
        if not wanted.strip():
            return [gr.update(), gr.update(), gr.update(), lang_update, shown]
        pid = find_id(self.corpus, wanted)
        if pid is None:
            return [gr.Tabs(selected="browse"), gr.update(), unknown_id_html(self.corpus, wanted, shown),
                    lang_update, shown]
        return [gr.Tabs(selected="browse"), pid, "", lang_update, shown]
