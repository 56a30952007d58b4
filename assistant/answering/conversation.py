"""Chat history and resolving elliptical follow-ups against the previous turn, without an LLM."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.search.retrieve import question_track
from assistant.text import lexicon
from assistant.text.tokens import fold, words

# openings that only make sense after an earlier question
_OPENERS = lexicon.alternation("follow_up_openers", "^", r"\b")
#: how much of the previous search text a follow-up is searched with
MAX_CONTEXT = 400
_PRONOUNS = lexicon.words("follow_up_pronouns")


@dataclass
class Turn:
    question: str
    resolved: str
    track: str | None
    cited: list[str]
    language: str


@dataclass
class Conversation:
    """One user's chat: its turns, in order. Held in memory only, never written anywhere."""

    turns: list[Turn] = field(default_factory=list)
    #: the asker's chat had earlier turns that are not here (the server restarted, the session
    #: expired): a follow-up then gets a notice that its context is gone
    lost: bool = False

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the previous one ('and for dual students?')."""
    q = fold(question).strip(" ?!.")
    tokens = q.split()
    if not tokens:
        return False
    if _OPENERS.match(q) and len(tokens) <= 12:
        return True
    content = words(question)
    return len(tokens) <= 7 and any(t in _PRONOUNS for t in tokens) and len(content) <= 3


def resolve(question: str, conversation: Conversation | None) -> tuple[str, str | None]:
    """Return (query to search, track).

    A follow-up is searched together with the start of the previous turn's search text (where
    its subject is); a track it names ("and for dual programmes?") replaces the previous turn's
    track. The search text stays bounded however long the chat grows.
    """
    track = question_track(question)
    last = conversation.last if conversation else None
    if last is None or not is_follow_up(question):
        return question, track
    return f"{last.resolved[:MAX_CONTEXT]} {question}", track or last.track
