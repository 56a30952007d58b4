"""The Gradio app: layout and wiring of the Ask, Browse and Checklist tabs and the `/ask` and
`/chat` API endpoints. The only module that imports gradio, and only inside its functions."""

from importlib.resources import files
from typing import TYPE_CHECKING, Any

from assistant.answering.checklist import CHECKLIST_TRACKS
from assistant.assistant import Assistant
from assistant.build import build
from assistant.domain import ROLES
from assistant.settings import Settings, quiet_libraries
from assistant.ui.browse import browse_html
from assistant.ui.checklist_view import checklist_html
from assistant.ui.handlers import Chat, Handlers, choices, header_html, question_info
from assistant.ui.http import Hardened
from assistant.ui.texts import LANG_CHOICES, UI, examples
from assistant.ui.views import chat_tools_html, sources_html

if TYPE_CHECKING:
    import gradio as gr

HOST = "127.0.0.1"
PORT = 7860
CSS = (files("assistant.ui") / "style.css").read_text(encoding="utf-8")
#: the page's script: [n] links to sources, tick boxes kept for the session, exports in the browser
JS = (files("assistant.ui") / "page.js").read_text(encoding="utf-8")


def _quiet_environment() -> None:
    """No analytics, telemetry or hub calls; uploads and downloads in a private temp dir."""
    quiet_libraries(app=True)


def build_app(assistant: Assistant, concurrency: int = 4) -> "gr.Blocks":
    """The Gradio app: Ask, Browse and Checklist tabs, plus the `/ask` and `/chat` API endpoints.

    Up to `concurrency` answers run at once; with a language model, its streams run in a group
    of their own, so a slow generation never holds up a deterministic answer or an API call.
    """
    _quiet_environment()
    import gradio as gr

    h = Handlers(assistant)
    corpus = assistant.corpus
    ui = UI["en"]
    private: dict[str, Any] = {"api_visibility": "private"}
    # Gradio's temporary files are swept every 10 minutes (the folder itself goes at exit)
    with gr.Blocks(title="Stagecode hbo", analytics_enabled=False, delete_cache=(600, 600)) as demo:
        shown = gr.State("en")  # the interface language on screen (Auto follows the answers)
        header = gr.HTML(header_html("en"), js_on_load=None)
        # tabs too wide for the screen wrap onto a second row rather than go into a "more tabs"
        # menu, which Gradio fills from measured widths and which a relabel could leave a tab in
        with gr.Tabs(selected="chat", overflow_behavior="wrap") as tabs:
            with gr.Tab(ui["tab_chat"], id="chat", elem_id="tab-chat") as tab_chat:
                with gr.Row():
                    role = gr.Radio(choices(ui["roles"], ROLES), value="student", label=ui["role"],
                                    elem_id="role")
                    lang = gr.Radio(choices(ui["langs"], LANG_CHOICES), value="auto", label=ui["lang"],
                                    elem_id="lang")
                    # optional generative answers: only with a backend configured
                    mode = (gr.Radio(h.mode_choices("en"), value="llm", label=ui["mode"], elem_id="answer-mode")
                            if assistant.generator is not None else None)
                conv = gr.State(Chat())
                with gr.Row(equal_height=False, elem_id="ask-columns"):
                    with gr.Column(scale=3, min_width=340):
                        chatbot = gr.Chatbot(label=ui["chatbot"], height=420, elem_id="chatbot",
                                             sanitize_html=True, render_markdown=False, allow_tags=False,
                                             latex_delimiters=[], feedback_options=None, buttons=["copy"],
                                             autoscroll=False)  # the page's script shows an answer's start
                        with gr.Row(elem_id="question-row"):
                            # one line that grows: Enter sends, Shift+Enter starts a new line (Gradio's
                            # rule for lines=1, max_lines>1); no maxlength, which would cut a long paste
                            # without a word: a text over the limit stays in the box with its message
                            question = gr.Textbox(label=ui["question"], placeholder=ui["placeholder"], scale=5,
                                                  elem_id="question", lines=1, max_lines=8,
                                                  info=question_info("en"),
                                                  html_attributes=gr.InputHTMLAttributes(enterkeyhint="send"))
                            ask_btn = gr.Button(ui["ask"], variant="primary", scale=1, elem_id="ask")
                        examples_title = gr.Markdown(f"**{ui['examples']}**")
                        with gr.Row():
                            example_btns = [gr.Button(q, size="sm", elem_classes=["sc-example"])
                                            for q in examples("student", "en")]
                        with gr.Row(equal_height=True, elem_id="chat-actions"):
                            new_btn = gr.Button(ui["new"], size="sm", variant="secondary",
                                                elem_id="new-conversation")
                            chat_tools = gr.HTML(chat_tools_html("en"), elem_id="chat-tools", js_on_load=None)
                    with gr.Column(scale=2, min_width=340):
                        sources = gr.HTML(sources_html(corpus, [], "", "en"), elem_id="sources", js_on_load=None)
            with gr.Tab(ui["tab_browse"], id="browse", elem_id="tab-browse") as tab_browse:
                search = gr.Textbox(label=ui["search"], placeholder=ui["search_ph"], elem_id="browse-search")
                browse_note = gr.HTML("", elem_id="browse-note", js_on_load=None)  # an unknown deep link
                browse = gr.HTML(browse_html(corpus, "", "en"), elem_id="browse", js_on_load=None)
            with gr.Tab(ui["tab_checklist"], id="checklist", elem_id="tab-checklist") as tab_checklist:
                with gr.Row():
                    ch_role = gr.Radio(choices(ui["roles"], ROLES), value="student", label=ui["role"],
                                       elem_id="checklist-role")
                    ch_track = gr.Radio(choices(ui["tracks"], CHECKLIST_TRACKS), value="vd",
                                        label=ui["track"], elem_id="checklist-track")
                checklist_view = gr.HTML(checklist_html(corpus, "student", "vd", "en"),
                                         elem_id="checklist", js_on_load=None)

        named = {"header": header, "tab_chat": tab_chat, "tab_browse": tab_browse,
                 "tab_checklist": tab_checklist, "role": role, "lang": lang, "chatbot": chatbot,
                 "question": question, "ask": ask_btn, "new": new_btn, "examples_title": examples_title,
                 "sources": sources, "search": search, "browse": browse, "ch_role": ch_role,
                 "ch_track": ch_track, "checklist": checklist_view, "chat_tools": chat_tools, "shown": shown,
                 **{f"example_{i}": b for i, b in enumerate(example_btns)},
                 **({"mode": mode} if mode is not None else {})}

        def relabel(*args: Any) -> dict:
            return {named[name]: update for name, update in h.relabel(*args).items()}

        relabel_in = [lang, shown, role, ch_role, ch_track, search, conv]

        def then_relabel(event: Any) -> None:
            """After an event that may change the language shown: every label in it."""
            event.then(relabel, relabel_in, list(named.values()), **private)

        chat_out = [chatbot, conv, sources, question, shown]
        # with a language model the answer streams (respond_stream); without, nothing changes
        answer_fn, extra = (h.respond_stream, [mode]) if mode is not None else (h.respond, [])
        answering = {"concurrency_limit": concurrency,
                     "concurrency_id": "llm" if mode is not None else "answer", **private}

        def check(*values: Any) -> list:
            """Runs before the answer (same inputs): an empty or too long question is refused on
            the box itself, so it adds nothing to the chat."""
            return [h.check(values[0], values[1], values[2]), *[None] * (len(values) - 1)]

        # Ask and Enter are one event, so while its answer runs the page sends neither again
        # (trigger_mode "once"); an example clicked meanwhile is its own event, which the
        # handlers ignore while the page's answer runs
        asking = [gr.on([ask_btn.click, question.submit], answer_fn,
                        [question, role, lang, chatbot, conv, shown, *extra], chat_out,
                        validator=check, trigger_mode="once", **answering)]
        asking += [btn.click(answer_fn, [btn, role, lang, chatbot, conv, shown, *extra], chat_out, **answering)
                   for btn in example_btns]
        for event in asking:
            then_relabel(event)
        # a new conversation cancels an answer still running: that answer (and the conversation
        # it would hand back, the old one with its turns) never reaches the new, empty chat
        new_btn.click(h.new_conversation, [lang, shown], chat_out, cancels=asking, **private)
        chatbot.clear(h.new_conversation, [lang, shown], chat_out, cancels=asking, **private)
        role.change(h.role_changed, [role, lang, shown], [*example_btns, ch_role], **private)
        search.change(h.browse, [search, lang, shown], [browse, browse_note], **private)
        for control in (ch_role, ch_track):
            control.change(h.checklist_changed, [ch_role, ch_track, lang, shown], checklist_view, **private)
        lang.change(relabel, relabel_in, list(named.values()), **private)

        def on_load(request: gr.Request) -> list:
            params = dict(request.query_params) if request is not None else {}
            accept = request.headers.get("accept-language") if request is not None else None
            return h.on_load(params, accept)

        then_relabel(demo.load(on_load, None, [tabs, search, browse_note, lang, shown], **private))
        api = {"concurrency_limit": concurrency, "concurrency_id": "answer"}
        gr.api(h.api_ask, api_name="ask", **api)

        def chat(question: str, role: str = "student", lang: str = "auto", new_conversation: bool = False,
                 request: gr.Request = None) -> dict:  # type: ignore[assignment]
            """Answer a question in this API session's conversation (follow-ups work), citing
            the provisions. role: student | company | staff. lang: auto | nl | en.
            new_conversation: start over. Returns the /ask shape plus resolved_question."""
            return h.api_chat(question, role, lang, new_conversation,
                              getattr(request, "session_hash", None))

        gr.api(chat, api_name="chat", **api)  # a stateful endpoint, one conversation per session

    def check_inputs(block_fn: Any, inputs: list[Any]) -> None:
        """Gradio's own check puts the received values (a question) into an error it prints."""
        if len(inputs) < len(block_fn.inputs):
            raise gr.Error(f"expected {len(block_fn.inputs)} inputs, got {len(inputs)}", print_exception=False)

    demo.validate_inputs = check_inputs  # type: ignore[method-assign]
    h.sessions.start_sweeping()
    return demo


#: browser sessions whose state (a conversation) Gradio keeps; the oldest go first
SESSION_CAPACITY = 1000


def launch_app(demo: "gr.Blocks", host: str = HOST, port: int = PORT, prevent_thread_lock: bool = False,
               quiet: bool = False) -> Any:
    """Launch locally: no share link, no analytics, no monitoring, no run history, no uploads
    (the app has none; Gradio's upload route takes at most 1 KB), bounded bodies and sessions."""
    import gradio as gr
    from starlette.middleware import Middleware

    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    return demo.launch(
        server_name=host, server_port=port, share=False, prevent_thread_lock=prevent_thread_lock,
        show_error=False, quiet=quiet, ssr_mode=False, mcp_server=False, pwa=False,
        enable_monitoring=False, run_history=False, footer_links=["api"],
        theme=theme, css=CSS, js=JS, inbrowser=False, max_file_size="1kb",
        state_session_capacity=SESSION_CAPACITY, app_kwargs={"middleware": [Middleware(Hardened)]},
    )


def serve(settings: Settings, host: str = HOST, port: int = PORT) -> None:
    """Load the assistant (building the index if missing) and serve the app until stopped."""
    _quiet_environment()
    launch_app(build_app(build(settings, progress=True), settings.concurrency), host, port)
