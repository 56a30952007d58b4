"""Plain dataclasses for the domain: provisions, citations and answers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ROLES = ("student", "company", "staff")
AUDIENCES = ("student", "company", "school")
TRACKS = ("vd", "duaal", "all")
PHASES = ("before", "during", "discrimination", "general")
LANGUAGES = ("nl", "en")
#: what a list question can ask for: one phase's obligations, or the whole list ("any")
LIST_PHASES = ("before", "during", "discrimination", "any")


def list_phase(label: str | None) -> str | None:
    """A bank line's phase label as one of `LIST_PHASES` ("all" is the whole list too)."""
    label = "any" if label == "all" else label
    return label if label in LIST_PHASES else None


def as_choice(value: object) -> object:
    """A role or language as typed ("Student ", "EN") in the form `ROLES` and `LANGUAGES` name it;
    anything but text is left for validation to refuse."""
    return value.strip().lower() if isinstance(value, str) else value


#: the audience a role's questions concern (staff work for the school)
ROLE_AUDIENCE = {"student": "student", "company": "company", "staff": "school"}
#: the role whose checklist lists an audience's obligations
AUDIENCE_ROLE = {audience: role for role, audience in ROLE_AUDIENCE.items()}
#: the school's reporting point for internship discrimination and improper use of students
REPORTING_POINT = "4.aanv.4"
#: where one sentence of the code's text ends and the next begins
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


@dataclass(frozen=True)
class Provision:
    """One citable unit of the code: a definition, agreement, sub-item, paragraph or footnote."""

    id: str
    kind: str  # preamble | definition | intro | agreement | item | ambition | footnote | closing
    path: tuple[str, ...]  # section path, e.g. ("3", "B", "Aanvullende afspraken voor …", "2", "a")
    label_nl: str
    label_en: str
    text: str  # the Dutch text, verbatim (cleaned of extraction artifacts)
    parent: str | None = None
    children: tuple[str, ...] = ()
    footnotes: tuple[str, ...] = ()  # ids of footnotes attached to this provision
    footnote_of: str | None = None  # for a footnote: the provision it belongs to
    track: str = "all"  # vd | duaal | all, from the heading it stands under

    @property
    def announces_items(self) -> bool:
        """Ends with a colon before its items ("… zorgt in ieder geval:", "De ambities van dit
        manifest zijn:"): quoted without them it says nothing."""
        return bool(self.children) and self.text.endswith(":")

    @property
    def gives_way_to_items(self) -> bool:
        """Announces its items and says nothing else, so an answer cites the items instead;
        one with sentences of its own (who signed the manifesto) is cited before them."""
        return self.announces_items and len(SENTENCE_BREAK.split(self.text)) == 1


@dataclass(frozen=True)
class Curation:
    """The curated, human-reviewed layer for one provision (unofficial English and summaries)."""

    id: str
    nl: str
    nl_sha256: str
    title_nl: str
    title_en: str
    en: str
    summary_nl: str
    summary_en: str
    audiences: tuple[str, ...]
    track: str
    phase: str


@dataclass(frozen=True)
class Citation:
    """A cited provision with its verbatim Dutch text and unofficial English rendering."""

    id: str
    label: str
    text: str
    text_en: str
    score: float = 0.0
    #: for a lettered item, its parent's lead-in sentence ("… zorgt in ieder geval:")
    lead_in: str = ""


@dataclass
class Answer:
    """What the assistant says to one question."""

    question: str
    language: str
    answer: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    role: str = "student"
    #: why it abstained or which parts the code leaves open (machine-readable reasons)
    reasons: list[str] = field(default_factory=list)
    #: which path produced the text: "deterministic" or "llm:<backend>" (+ fallback reason)
    produced_by: str = "deterministic"
    #: the question after resolving an elliptical follow-up against the previous turn
    resolved_question: str | None = None
    track: str | None = None
    #: the best similarity of any entry to the question, when it was searched (diagnostics;
    #: not part of the public JSON)
    top_similarity: float | None = None
    #: the parts `answer` is rendered from (assistant/render.py): the first paragraph, and
    #: the paragraphs after it (scope, what the code leaves open, where to go)
    lead: str = ""
    notes: list[str] = field(default_factory=list)
    #: notes the lead's own sentences already state (which track a rule is for), left out of
    #: `notes`; a lead written by a language model carries them instead
    stated: list[str] = field(default_factory=list)

    def to_public_json(self, qid: object = None) -> dict[str, object]:
        """The stable public JSON shape of `stagecode ask --json` (see README)."""
        out: dict[str, object] = {} if qid is None else {"id": qid}
        out.update(
            {
                "language": self.language,
                "answer": self.answer,
                "abstained": self.abstained,
                "citations": [
                    {"id": c.id, "label": c.label, "text": c.text, "text_en": c.text_en}
                    for c in self.citations
                ],
            }
        )
        return out
