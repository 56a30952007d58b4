"""Deciding whether to answer: the learned decision over what the search found, and the
override attempts that are refused before anything is searched."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.corpus.corpus import Corpus, SilentTopic
from assistant.search.retrieve import Findings
from assistant.text import lexicon
from assistant.text.tokens import fold, words

_INJECTION = lexicon.alternation("injection_patterns")
#: the reasons of a verdict that sends a question down the safety route: on the safety model's
#: own strength (the reporting point leads) or with the word model's backing (it follows)
ROUTE_REASONS = frozenset({"safety", "safety_also"})
#: a provision the ranker finds at least this likely to answer is one it finds more likely than
#: not: a refusal still shows it, and an answer in part leads with it
RELATED_MIN = 0.5
#: the reason of an answer in part whose open part the decision finds more likely than an answer
#: and for which the ranker finds no provision more likely than not: the answer opens with where
#: that part is settled, then what the code does say
OPEN_FIRST = "open_first"


@dataclass
class Verdict:
    """Whether to abstain, and why; `silent`: the topic the code leaves open that the question
    is (also) about, whose pointer the answer shows (in a safety-route answer, its route note)."""

    abstain: bool
    reasons: list[str] = field(default_factory=list)
    silent: list[SilentTopic] = field(default_factory=list)
    #: for a list: whose obligations are asked for (None: the asker's own)
    party: str | None = None
    #: for a list: which phase it asks for ("any": the whole list; None: the phase its first
    #: hits share)
    phase: str | None = None
    #: a question the safety route did not take, yet whose safety score comes near it: the
    #: answer or refusal names the reporting point in case it is about unequal treatment
    mention: bool = False
    #: whether the decision alone would answer; a safety-route answer to a question it would
    #: refuse cites only what the ranker finds more likely than not, as a refusal does
    answerable: bool = True
    #: answered as one point or by the safety route, though a request for a party's whole list
    #: is likely: the answer says how to ask for that list (`party`, `phase`: the list it would be)
    offer_list: bool = False

    @property
    def on_ground(self) -> bool:
        """Whether the topic whose pointer the answer shows touches a ground of discrimination,
        so that the answer cites the reporting point the pointer names."""
        return any(s.ground for s in self.silent[:1])


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
    for having reported it) is never refused: on its own it leads the answer with the reporting
    point ("safety"); recognised only with the word model's second opinion, the reporting point
    follows what the ranker found ("safety_also"). An abstention names the out-of-scope topic when
    the topic model is sure of it (an off-topic one too), and its pointer says where to look
    instead; an answered question that the open-part model finds also about such a topic gets
    that pointer as a note. A question whose blended safety score, below the route's, reaches
    the mention threshold names the reporting point in case it is about unequal treatment after
    all (not a list). An
    answer in part whose open part the decision finds the more likely, with no provision the
    ranker finds more likely than not to answer, opens with its pointer. A
    question the bank holds (nearly) word for word is decided by its label. Whether an answered
    follow-up is a list or one point is the follow-up model's to say, when there is one. A first
    message answered as one point that the list-offer model reads as a list request at
    `list_offer_min`, or answered by the safety route while the decision or that model reads a
    list request, offers the list.
    """
    d = dict(findings.decision)
    topic = next((t for t in corpus.silent_topics if t.id == findings.topic), None)
    silent = [topic] if topic else []
    # a route answer keeps a topic only when the topic has a word for it (harassment: the
    # confidential adviser); the pointer of any other topic would say the code leaves it open
    on_route = [t for t in silent if t.on_route]
    if findings.same_as is not None:  # a question of the bank: its label, not a guess
        kind, safety = findings.same_as
        d = {k: float(k == kind) for k in d}
        if safety:
            return Verdict(False, ["safety"], on_route)
    answer_min = thresholds["answer_min"] if findings.answer_min is None else findings.answer_min
    # the safety model alone also fires on code, logs and jokes, which the decision calls
    # unrelated; with the word model's backing such a message is a safety case all the same
    off_topic = max(d, key=d.__getitem__) == "unrelated"
    safety = findings.safety
    backed = safety.blended >= safety.blended_min
    answerable = d["answer"] + d["list"] >= answer_min
    labelled = findings.same_as is not None  # its label has said it is no safety case
    # a party's whole list is likely asked for, yet the answer will not be that list (one point,
    # or the safety route first): it says how to ask for the list (a follow-up read with the
    # message before it has chosen between the two with its own model)
    offer = dict(offer_list=True, party=findings.party, phase=findings.phase) if (
        answerable and findings.list_share is None and not labelled
        and (d["list"] > d["answer"] or (findings.list_offer is not None
                                         and findings.list_offer >= thresholds.get("list_offer_min", 1.0)))) else {}
    if not labelled and safety.alone >= safety.alone_min and (backed or not off_topic):
        return Verdict(False, ["safety"], on_route, answerable=answerable, **offer)
    if backed and not labelled:
        return Verdict(False, ["safety_also"], on_route, answerable=answerable, **offer)
    mention = not labelled and safety.blended >= safety.mention_min
    if d["answer"] + d["list"] < answer_min:
        kind = max(("out_of_scope", "unrelated", "injection"), key=lambda k: d[k])
        if kind == "out_of_scope":
            return Verdict(True, [f"silent:{topic.id}" if topic else "not_covered"], silent, mention=mention)
        # off topic as the decision reads it, yet the topic model is sure of an open matter: the
        # refusal also says where that matter is settled, in case that is what was meant
        if kind == "unrelated" and topic:
            return Verdict(True, [kind, f"silent:{topic.id}"], silent, mention=mention)
        return Verdict(True, [kind], mention=mention)
    # answered, but also asking a matter the code leaves open, as the open-part model reads it,
    # or as likely to be about the open topic as a refusal would need: say where that part is
    # settled instead (a list too: "what are my rights if I fall ill?"). The out-of-scope share
    # alone still notes a matter whose pointer cites the reporting point (an illness, a
    # religion): a needless mention of it costs less than a missing one
    part = None if labelled else findings.open_part
    as_refusal = d["out_of_scope"] >= answer_min
    open_part = bool(topic) and (as_refusal if part is None else
                                 part >= thresholds["open_part_min"] or (as_refusal and topic.relates_reporting_point))
    # a follow-up's own model says whether it asks for a list or one point; a bank label wins
    wants_list = d["list"] > d["answer"] if findings.list_share is None or labelled else findings.list_share >= 0.5
    if wants_list:
        return Verdict(False, ["list", *([f"silent:{topic.id}"] if topic and open_part else [])],
                       silent if open_part else [], party=findings.party, phase=findings.phase)
    if topic and open_part:
        first = (d["out_of_scope"] > d["answer"] + d["list"]
                 and not (findings.hits and findings.hits[0].score >= RELATED_MIN))
        return Verdict(False, [f"silent:{topic.id}", *([OPEN_FIRST] if first else [])], silent, mention=mention,
                       **offer)
    return Verdict(False, mention=mention, **offer)


def injection_misfires(questions: list[tuple[str, bool]]) -> list[str]:
    """Override patterns of the lexicon that match a question the code answers (which would be
    answered as an override attempt), for `stagecode corpus check`. `questions`: (text, answered)."""
    return [f"lexicon: injection pattern matches an answerable bank question: {text[:80]!r}"
            for text, answered in questions if answered and is_injection(text)]
