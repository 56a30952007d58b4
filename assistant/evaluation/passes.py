"""Score a pass of bank lines that no model trained on (`stagecode eval --pass FILE`): how the
shipped engine answers a style of question before that style joins the bank, and after."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.answering.abstain import ROUTE_REASONS
from assistant.answering.conversation import Conversation
from assistant.domain import REPORTING_POINT
from assistant.learn.bank import BankQuestion

if TYPE_CHECKING:
    from assistant.assistant import Assistant

#: the reasons of a refusal that calls a question not about the code at all
NOT_ABOUT_THE_CODE = {"unrelated", "injection"}


@dataclass
class PassFigures:
    """Counts over one pass: how many lines of each kind, and what the engine did with them."""

    name: str
    answered: int = 0  # lines the code answers (answer and list)
    hit1: int = 0  # ... whose first citation is one of the line's ids
    hit3: int = 0  # ... with one of the line's ids among the first three citations
    refused: int = 0  # ... refused anyway
    safety: int = 0  # discrimination situations among them
    reporting_point: int = 0  # ... whose answer cites the reporting point
    reporting_point_refused: int = 0  # ... refused, with the reporting point among what the code does say
    open: int = 0  # lines the code leaves open
    open_refused: int = 0  # ... refused
    open_as_unrelated: int = 0  # ... refused as not about the code (no pointer where to look)
    unrelated: int = 0  # lines not about the code (unrelated, override attempts)
    unrelated_refused: int = 0  # ... refused
    not_safety: int = 0  # lines of any kind labelled as no discrimination situation
    false_alarms: int = 0  # ... sent down the safety route all the same

    def line(self, trained: bool) -> str:
        """One line of figures for the terminal; a pass the model trained on says so."""
        return (f"{self.name}{' (trained on: not out of pass)' if trained else ''}: "
                f"answered lines {self.answered}: hit@1 {self.hit1}, hit@3 {self.hit3}, refused {self.refused}; "
                f"discrimination situations citing the reporting point {self.reporting_point} of {self.safety} "
                f"(and {self.reporting_point_refused} refused with it cited); "
                f"open lines {self.open}: refused {self.open_refused}, "
                f"{self.open_as_unrelated} of them as not about the code; "
                f"unrelated lines {self.unrelated}: refused {self.unrelated_refused}; "
                f"lines that are no discrimination situation {self.not_safety}: "
                f"{self.false_alarms} sent down the safety route")


def score_questions(assistant: Assistant, questions: list[BankQuestion], name: str) -> PassFigures:
    """Ask each line as its role and count; a line with the message before it (which it leans on,
    or not) is the second turn of a chat that opened with that message, as in the app."""
    out = PassFigures(name)
    for q in questions:
        role = q.role or "student"
        chat = None
        if before := q.context or q.after:
            chat = Conversation()
            assistant.ask(before, role, conversation=chat, llm=False)
        a = assistant.ask(q.text, role, conversation=chat, llm=False)
        cited = [c.id for c in a.citations]
        if q.safety is False:
            out.not_safety += 1
            out.false_alarms += bool(ROUTE_REASONS & set(a.reasons))
        if q.answered:
            out.answered += 1
            out.refused += a.abstained
            out.hit1 += not a.abstained and bool(cited) and cited[0] in q.ids
            out.hit3 += not a.abstained and any(c in q.ids for c in cited[:3])
            if q.safety:
                out.safety += 1
                out.reporting_point += not a.abstained and REPORTING_POINT in cited
                out.reporting_point_refused += a.abstained and REPORTING_POINT in cited
        elif q.kind == "out_of_scope":
            out.open += 1
            out.open_refused += a.abstained
            out.open_as_unrelated += (a.abstained and bool(NOT_ABOUT_THE_CODE & set(a.reasons))
                                      and not any(r.startswith("silent:") for r in a.reasons))
        else:
            out.unrelated += 1
            out.unrelated_refused += a.abstained
    return out


def trained_on(path: Path, bank: Path) -> bool:
    """Whether a pass file lies in the bank the shipped model was trained on (or its subfolders)."""
    return path.resolve().is_relative_to(bank.resolve())
