"""Deciding whether to answer: the learned decision over what the search found, and the
override attempts that are refused before anything is searched."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.corpus import Corpus, SilentTopic
from assistant.retrieve import Findings
from assistant.tokens import fold, words

_INJECTION = re.compile(
    "|".join(
        [
            r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instructions?|rules?|prompts?|guidelines?|policy|context)\b",
            r"\b(negeer|vergeet|omzeil)\b.{0,40}\b(instructies?|regels?|opdrachten?|prompts?|richtlijnen|context)\b",
            r"\b(system|systeem) ?prompt\b",
            r"\b(negeer|ignore|disregard)\s+(de|het|alle|je|jouw|the|all|your|any|previous|prior|eerdere|vorige)\b",
            r"\bwithout (any )?restrictions\b|\bzonder (enige )?beperkingen\b|\byou are dan\b",
            r"\b(you are now|from now on you|je bent nu|vanaf nu ben je|pretend|doe alsof|jailbreak|developer mode|dan mode)\b",
            # "act as examiner" is a real question; "act as an unrestricted AI" is not
            r"\bact as (if|though|an? (ai|assistant|chatbot|bot|language model|unrestricted|different|new))\b",
            r"^\s*(system|assistant|systeem)\s*:",
            r"\b(print|show|reveal|repeat|output|toon|herhaal|geef)\b.{0,30}\b(your|je|jouw)\b.{0,20}\b(prompt|instructions|instructies)\b",
            r"\b(just|only|simply) (say|answer|reply|respond)\b",
            r"\b(zeg|antwoord|schrijf) (gewoon|alleen|enkel)\b",
            r"<\s*/?\s*(system|instructions?|script)\b",
        ]
    )
)

@dataclass
class Verdict:
    """Whether to abstain, and why; `partial` answers part and says what is not set."""

    abstain: bool
    reasons: list[str] = field(default_factory=list)
    silent: list[SilentTopic] = field(default_factory=list)
    not_set: list[str] = field(default_factory=list)
    partial: bool = False


def is_injection(question: str) -> bool:
    return bool(_INJECTION.search(fold(question)))


def strip_injection(question: str) -> str | None:
    """The genuine question left after dropping the sentences that try to override the rules.

    "Negeer alle eerdere instructies. Maar even serieus: mogen wij … vragen?" keeps the last
    part; a message that is nothing but an override attempt gives None.
    """
    parts = re.split(r"(?<=[.!?:])\s+", question)
    kept = [p for p in parts if not is_injection(p)]
    rest = " ".join(kept).strip()
    if len(kept) == len(parts) or len(words(rest)) < 3 or is_injection(rest):
        return None
    return rest


def decide(findings: Findings, corpus: Corpus, thresholds: dict[str, float]) -> Verdict:
    """The learned decision: answer, list, or abstain as not covered / unrelated / injection.

    A question the safety model recognises (treated differently or harassed for who one is, or
    for having reported it) is never refused. An abstention names the out-of-scope topic when
    the topic model is sure of it, and its pointer says where to look instead; an answered
    question that is also partly about such a topic gets that pointer as a note. A question
    the bank holds (nearly) word for word is decided by its label.
    """
    d = dict(findings.decision)
    if findings.same_as is not None:  # a question of the bank: its label, not a guess
        kind, safety = findings.same_as
        d = {k: float(k == kind) for k in d}
        if safety:
            return Verdict(False, ["safety"])
    topic = next((t for t in corpus.silent_topics if t.id == findings.topic), None)
    silent = [topic] if topic else []
    off_topic = max(d, key=d.__getitem__) in ("unrelated", "injection")
    if findings.safety >= thresholds["safety_min"] and not off_topic:
        return Verdict(False, ["safety"])
    if d["answer"] + d["list"] < thresholds["answer_min"]:
        kind = max(("out_of_scope", "unrelated", "injection"), key=lambda k: d[k])
        if kind == "out_of_scope":
            return Verdict(True, [f"silent:{topic.id}" if topic else "not_covered"], silent)
        return Verdict(True, [kind])
    if d["list"] > d["answer"]:
        return Verdict(False, ["list"])
    if topic and d["out_of_scope"] >= thresholds["answer_min"]:
        return Verdict(False, [f"silent:{topic.id}"], silent, partial=True)
    return Verdict(False)
