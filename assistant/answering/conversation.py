"""Chat history and resolving elliptical follow-ups against the previous turn, without an LLM."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.learn.bank import joined
from assistant.search.retrieve import question_track
from assistant.text import lexicon
from assistant.text.tokens import fold, words

# openings that only make sense after an earlier question
_OPENERS = lexicon.alternation("follow_up_openers", "^", r"\b")
_PRONOUNS = lexicon.words("follow_up_pronouns")


@dataclass
class Turn:
    question: str
    resolved: str
    track: str | None
    cited: list[str]
    language: str
    #: the safety route answered this turn (the reporting point led or followed the answer)
    safety: bool = False


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


#: a message longer than this names its own subject: it is only ever read alone
MAX_FOLLOW_UP_WORDS = 40


@dataclass(frozen=True)
class Reading:
    """One way to read a chat message: the text searched and the track it concerns."""

    query: str
    track: str | None


def readings(question: str, conversation: Conversation | None) -> tuple[Reading, Reading | None]:
    """The message alone, and joined to the previous turn's search text (where its subject is)
    when there is a previous turn and the message is short enough to lean on it. A track the
    message names ("and for dual programmes?") replaces the previous turn's."""
    alone = Reading(question, question_track(question))
    last = conversation.last if conversation else None
    if last is None or len(question.split()) > MAX_FOLLOW_UP_WORDS:
        return alone, None
    return alone, Reading(joined(last.resolved, question), alone.track or last.track)


def resolve(question: str, conversation: Conversation | None) -> tuple[str, str | None]:
    """Return (query to search, track), telling a follow-up by the lexicon's openings: for a
    model trained without chat turns, and for requests that are not searched as questions."""
    alone, both = readings(question, conversation)
    if both is None or not is_follow_up(question):
        return alone.query, alone.track
    return both.query, both.track
