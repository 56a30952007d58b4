"""Optional generative answers: prompt, streaming with a time limit, the citation guard, fallback.

Only a question the deterministic path answered goes to the language model, with the
provisions that answer cites (ids, Dutch text, English rendering) and the conversation so far,
condensed. The model's text streams out as it comes; the whole text then goes through the
citation guard (`assistant.llm.guard`). If the guard passes, the answer is the model's text, the
deterministic scope and "not set" notes, and the same verbatim sources block; its citations stay
those of the deterministic answer, so the JSON contract does not change. On a guard rejection,
a timeout, a backend error or an empty reply the deterministic answer stands, with one line
saying so; `Answer.produced_by` records the path and `Answer.reasons` gets `llm_fallback:<kind>`.
"""

from __future__ import annotations

import atexit
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate

from assistant.answering.abstain import OPEN_FIRST
from assistant.answering.render import TEXTS, compose_text, prefixed
from assistant.domain import Answer
from assistant.llm import guard
from assistant.llm.backends import DEFAULT_TIMEOUT, build_chat_model, parse_spec, timeout_from_env

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.answering.conversation import Conversation
    from assistant.corpus.corpus import Corpus

PROMPT_FILE = Path(__file__).resolve().parent / "prompts" / "answer.yaml"
HISTORY_TURNS = 3
HISTORY_CHARS = 200

#: the one line a fallback answer opens with, per kind of failure and language
FALLBACK_LINES = {
    "rejected": {
        "en": "(The language model's answer could not be verified against the code, so this is "
        "the standard answer.)",
        "nl": "(Het antwoord van het taalmodel kon niet aan de code worden gecontroleerd; dit is "
        "daarom het standaardantwoord.)",
    },
    "unavailable": {
        "en": "(The language model did not answer in time or could not be reached, so this is the "
        "standard answer.)",
        "nl": "(Het taalmodel antwoordde niet op tijd of was niet bereikbaar; dit is daarom het "
        "standaardantwoord.)",
    },
    "no_answer": {
        "en": "(The language model found no answer in the provisions, so this is the standard "
        "answer.)",
        "nl": "(Het taalmodel vond geen antwoord in de bepalingen; dit is daarom het "
        "standaardantwoord.)",
    },
}
_LINE_FOR = {"guard": "rejected", "empty": "rejected", "timeout": "unavailable",
             "error": "unavailable", "no_answer": "no_answer"}

#: sentences that need no citation: what the deterministic answer says when the code is silent
FIXED_PHRASES: tuple[str, ...] = tuple(
    p for t in TEXTS.values()
    for p in (t["no_answer"], *t["not_covered"].values(), *t["not_set"].values())
)


class LLMTimeout(TimeoutError):
    """The model did not finish its answer within the time limit."""


# -- the prompt -----------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def load_prompt(path: Path = PROMPT_FILE) -> tuple[ChatPromptTemplate, dict[str, Any]]:
    """The chat prompt template and its other settings, from the prompt data file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    template = ChatPromptTemplate.from_messages([("system", data["system"]), ("human", data["human"])])
    return template, data


def provisions_text(answer: Answer, corpus: Corpus, data: dict[str, Any]) -> str:
    """The provisions the answer cites, as the prompt lists them: id, label, Dutch, English."""
    blocks = []
    for c in answer.citations:
        track = corpus.by_id[c.id].track if c.id in corpus.by_id else "all"
        note = data["track_notes"].get(track, "")
        if answer.track and track not in ("all", answer.track):
            note += data["other_track"]
        blocks.append(data["provision"].format(id=c.id, label=c.label, note=note, text=c.text,
                                               text_en=c.text_en or c.text).strip())
    return "\n\n".join(blocks)


def condense_history(answer: Answer, conversation: Conversation | None, data: dict[str, Any],
                     turns: int = HISTORY_TURNS) -> str:
    """The last few turns as one line each (question, cited ids), and how a follow-up was read."""
    past = list(conversation.turns) if conversation is not None else []
    if past and past[-1].question == answer.question:
        past = past[:-1]  # the current question, if it was recorded already
    lines = []
    for t in past[-turns:]:
        q = t.question if len(t.question) <= HISTORY_CHARS else t.question[:HISTORY_CHARS] + "…"
        lines.append(data["history_turn"].format(question=q, cited=", ".join(t.cited) or "nothing"))
    if answer.resolved_question:
        lines.append(data["history_resolved"].format(resolved=answer.resolved_question[:2 * HISTORY_CHARS]))
    return (data["history_heading"] + "\n" + "\n".join(lines) + "\n\n") if lines else ""


def build_messages(answer: Answer, corpus: Corpus, conversation: Conversation | None = None,
                   path: Path = PROMPT_FILE) -> list[BaseMessage]:
    """The chat messages for one answered question."""
    template, data = load_prompt(path)
    lang = answer.language if answer.language in TEXTS else "en"
    return template.format_messages(
        language=data["languages"][lang],
        provisions=provisions_text(answer, corpus, data),
        example_id=answer.citations[0].id if answer.citations else "3B.vd.4",
        no_answer=TEXTS[lang]["no_answer"],
        history=condense_history(answer, conversation, data),
        question=answer.question,
    )


# -- calling the model ------------------------------------------------------------------------------


_WORKERS: set[tuple[threading.Thread, threading.Event]] = set()
EXIT_WAIT = 30.0  # seconds a model call may take to stop when the program ends


@atexit.register
def _stop_workers() -> None:
    """Let model calls still running stop at their next chunk before the interpreter goes away
    (a llama.cpp call torn down mid-generation crashes the process at exit)."""
    for _, stop in list(_WORKERS):
        stop.set()
    deadline = time.monotonic() + EXIT_WAIT
    for thread, _ in list(_WORKERS):
        thread.join(max(0.0, deadline - time.monotonic()))


def stream_text(model: BaseChatModel, messages: list[BaseMessage], timeout: float,
                busy: threading.Lock | None = None) -> Iterator[str]:
    """The model's text chunks as they come; `LLMTimeout` when the whole answer takes longer.

    The model runs in a worker thread (a blocking call cannot be interrupted); after a timeout
    it stops at its next chunk. `busy` keeps two calls off one model (llama.cpp is not
    thread-safe): a call waits for the previous one to stop, within its own time limit.
    """
    chunks: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        lock = busy or threading.Lock()
        with lock:
            if stop.is_set():
                return
            try:
                for chunk in model.stream(messages):
                    if stop.is_set():
                        return
                    chunks.put(("text", chunk.text))
            except BaseException as exc:  # reported to the caller, never lost in the thread
                chunks.put(("error", exc))
                return
        chunks.put(("done", None))

    def run() -> None:
        try:
            work()
        finally:
            _WORKERS.discard(entry)

    thread = threading.Thread(target=run, name="stagecode-llm", daemon=True)
    entry = (thread, stop)
    _WORKERS.add(entry)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:  # a model still streaming fast at the deadline is stopped too
                    raise queue.Empty
                kind, value = chunks.get(timeout=left)
            except queue.Empty:
                raise LLMTimeout(f"no complete answer within {timeout:g} s") from None
            if kind == "error":
                raise value
            if kind == "done":
                return
            if value:
                yield value
    finally:
        stop.set()


_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)


def clean(text: str) -> str:
    """The model's text without reasoning blocks and surrounding white space."""
    return _THINK.sub("", text).strip()


# -- the generator --------------------------------------------------------------------------------


@dataclass
class Generator:
    """Rewrites answered questions with a chat model, kept honest by the citation guard."""

    model: BaseChatModel
    name: str  # e.g. 'ollama:llama3'; `produced_by` is 'llm:<name>'
    timeout: float = DEFAULT_TIMEOUT
    prompt_path: Path = PROMPT_FILE
    _busy: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_spec(cls, spec: str | None = None, timeout: float | None = None,
                  env: Mapping[str, str] | None = None) -> Generator | None:
        """The generator for a backend spec; None for `none`. `env` holds the backend's
        STAGECODE_LLM_* settings (see `Settings.llm_env`)."""
        parsed = parse_spec(spec, env)
        if parsed is None:
            return None
        seconds = timeout if timeout is not None else timeout_from_env(env)
        return cls(build_chat_model(parsed, seconds), parsed.name, seconds)

    @staticmethod
    def applies(answer: Answer) -> bool:
        """Only answers that lead with the provisions they cite; abstentions, section listings and
        answers opening with where an open matter is settled stay as they are."""
        return (not answer.abstained and bool(answer.citations)
                and not {"named_section", OPEN_FIRST} & set(answer.reasons))

    def stream(self, answer: Answer, corpus: Corpus,
               conversation: Conversation | None = None) -> Iterator[str | Answer]:
        """The model's text chunks as they come, then (last) the final, checked `Answer`."""
        if not self.applies(answer):
            yield answer
            return
        messages = build_messages(answer, corpus, conversation, self.prompt_path)
        parts: list[str] = []
        try:
            for piece in stream_text(self.model, messages, self.timeout, self._busy):
                parts.append(piece)
                yield piece
        except LLMTimeout as exc:
            yield fallback(answer, "timeout", str(exc))
            return
        except Exception as exc:  # any backend failure: connection, model file, server error
            yield fallback(answer, "error", f"{type(exc).__name__}: {str(exc)[:200]}")
            return
        yield self.verify(answer, corpus, "".join(parts))

    def generate(self, answer: Answer, corpus: Corpus, conversation: Conversation | None = None,
                 on_token: Callable[[str], None] | None = None) -> Answer:
        """The final answer; each text chunk goes to `on_token` as it comes."""
        final = answer
        for item in self.stream(answer, corpus, conversation):
            if isinstance(item, Answer):
                final = item
            elif on_token is not None:
                on_token(item)
        return final

    def verify(self, answer: Answer, corpus: Corpus, raw: str) -> Answer:
        """The model's answer if the guard passes it, else the deterministic one with a note."""
        text = clean(raw)
        if not text:
            return fallback(answer, "empty", "the model returned no text")
        sources = answer.citations
        violations = guard.check(text, sources, known_ids=corpus.by_id, question=answer.question,
                                 exempt=FIXED_PHRASES)
        if violations:
            fixed = guard.fixed_sentences(FIXED_PHRASES)
            said = guard.sentences(text)
            if not guard.cited(text, sources) and any(
                    guard.normalise(s).rstrip(".!") in fixed for s in said):
                return fallback(answer, "no_answer", "the model said the provisions do not answer")
            return fallback(answer, "guard", "; ".join(str(v) for v in violations[:3])
                            + (f" (+{len(violations) - 3} more)" if len(violations) > 3 else ""))
        # the model's text replaces the lead; the notes and the sources stay the deterministic ones,
        # with what the deterministic lead stated in its own sentences
        return compose_text(replace(answer, lead=text, notes=[*answer.stated, *answer.notes], stated=[],
                                    produced_by=f"llm:{self.name}"))


def fallback(answer: Answer, kind: str, detail: str) -> Answer:
    """The deterministic answer, opening with one line that says why it is the standard answer."""
    line = FALLBACK_LINES[_LINE_FOR[kind]][answer.language if answer.language in TEXTS else "en"]
    return prefixed(replace(answer, notes=list(answer.notes), produced_by=f"deterministic (fallback: {kind}: {detail})",
                            reasons=[*answer.reasons, f"llm_fallback:{kind}"]), line)
