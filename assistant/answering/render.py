"""Rendering a structured `Answer` as text: the only place that writes the sources block.

An answer is a lead paragraph, notes (scope, what the code leaves open, where to go) and
citations; the CLI, the JSON, the chat and the language-model path all render from those parts.
"""

from __future__ import annotations

from importlib.resources import files

import yaml

from assistant.domain import Answer, Citation

TEXTS: dict[str, dict] = yaml.safe_load(
    (files("assistant.answering") / "texts" / "answers.yaml").read_text(encoding="utf-8"))


def listed(items: list[str], lang: str) -> str:
    """Items joined as the language writes a list: 'a, b and c' / 'a, b en c'."""
    return ", ".join(items[:-1]) + TEXTS[lang]["and"] + items[-1] if len(items) > 1 else "".join(items)


def sources_block(cites: list[Citation], lang: str) -> str:
    """Each citation with its id, label, verbatim Dutch text (a lettered item after its
    lead-in) and, in English, the unofficial rendering."""
    t = TEXTS[lang]
    lines = [f"{t['sources']}:"]
    for i, c in enumerate(cites, 1):
        lines.append(f"[{i}] {c.id} — {c.label}")
        if c.lead_in:  # a lettered item reads as the end of its parent's sentence
            lines.append(f"    “{c.lead_in} …”")
        lines.append(f"    “{c.text}”")
        if lang == "en" and c.text_en:
            lines.append(f"    {t['unofficial']}: “{c.text_en}”")
    return "\n".join(lines)


def body(answer: Answer) -> str:
    """The answer without its sources: the lead and the notes, a paragraph each."""
    return "\n\n".join(p for p in (answer.lead, *answer.notes) if p)


def text(answer: Answer) -> str:
    """The whole answer as plain text, as the CLI prints it and the JSON carries it."""
    sources = sources_block(answer.citations, answer.language) if answer.citations else ""
    return "\n\n".join(p for p in (body(answer), sources) if p)


def compose_text(answer: Answer) -> Answer:
    """Fill `answer.answer` from its parts (after building or changing them)."""
    answer.answer = text(answer)
    return answer


def prefixed(answer: Answer, line: str) -> Answer:
    """The same answer opening with one more paragraph (an override ignored, a fallback)."""
    notes = [answer.lead, *answer.notes] if answer.lead else list(answer.notes)
    answer.lead, answer.notes = line, notes
    return compose_text(answer)
