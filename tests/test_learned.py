"""The learned ranking and decision, and the answer rules built on them: the bank is answered,
the safety route, the asker's voice, list answers, pay answers, lead-ins and language."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from assistant.answering.abstain import Verdict
from assistant.answering.answer import PAY, TEXTS, compose
from assistant.answering.checklist import checklist
from assistant.answering.conversation import MAX_FOLLOW_UP_WORDS, Conversation
from assistant.corpus.corpus import load_corpus
from assistant.domain import AUDIENCE_ROLE, AUDIENCES, LIST_PHASES, ROLE_AUDIENCE, list_phase
from assistant.errors import CorpusError
from assistant.learn.bank import (
    ANSWERED,
    KINDS,
    MAX_CONTEXT,
    bank_hash,
    lists_folder,
    load_bank,
    parts_folder,
    route_folder,
    short_folder,
    turns_folder,
)
from assistant.learn.model import LearnedModel, Linear, SafetyScore
from assistant.learn.signals import PIECE, BankVectors, list_input
from assistant.search.retrieve import Hit, names_track
from assistant.text.tokens import word_count
from assistant.training.store import expected_meta, shipped_path

CORPUS = load_corpus()
BANK = CORPUS.files.bank
BANK_QUESTIONS = load_bank(BANK, set(CORPUS.by_id))
DOCUMENT_LIKE = {"pre.naleving", "fn.1", "fn.2", "fn.3", "fn.5", "def.stagecode", "3A.intro", "3B.intro",
                 "4.intro", "4.amb.3", "4.amb.4", "4.aanv.intro", "slot", "slot.ondertekend", "2.intro"}


def ids(answer) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.id for c in answer.citations]


def lead(answer) -> str:  # type: ignore[no-untyped-def]
    return answer.answer.split("\n\n" + TEXTS[answer.language]["sources"])[0]


def test_the_bank_has_every_kind_and_enough_questions() -> None:
    kinds = {k: sum(q.kind == k for q in BANK_QUESTIONS) for k in KINDS}
    assert all(kinds.values()), kinds
    assert kinds["out_of_scope"] >= 500
    assert len({q.pass_ for q in BANK_QUESTIONS}) >= 5
    # at least 25 questions per language for every provision users ask about; the passes wrote
    # fewer for the parts that describe the document itself (introductions, footnotes, signing)
    for p in CORPUS.provisions:
        for lang in ("nl", "en"):
            n = sum(1 for q in BANK_QUESTIONS if q.ids[:1] == (p.id,) and q.lang == lang)
            assert n >= (20 if p.id in DOCUMENT_LIKE else 25), (p.id, lang, n)


def test_the_shipped_model_was_trained_on_this_bank_and_corpus(assistant) -> None:
    expected = expected_meta(CORPUS, assistant.retriever.embeddings, bank_hash(BANK))
    model = LearnedModel.load(shipped_path(expected["embeddings"]))
    assert model.fits(expected), "run `stagecode train` after changing the bank or the corpus"
    assert model.meta["pids"] == [p.id for p in CORPUS.provisions]
    # a model trained on another layout of the features is stale too, whatever its bank
    model.meta["features"] = "another layout"
    assert not model.fits(expected)


@pytest.mark.slow
def test_no_answerable_bank_question_is_refused(assistant) -> None:
    """Every question of the bank that the code answers is answered (asked as the bank has it:
    a follow-up together with the question it follows)."""
    refused = []
    for q in BANK_QUESTIONS:
        if q.answered:
            a = assistant.ask(q.query, q.role or "student")
            if a.abstained:
                refused.append((q.pass_, q.text, a.reasons))
    assert not refused


@pytest.mark.slow
def test_every_bank_safety_question_cites_the_reporting_point(assistant) -> None:
    missing = []
    for q in BANK_QUESTIONS:
        if q.safety:
            a = assistant.ask(q.query, q.role or "student")
            if a.abstained or "4.aanv.4" not in ids(a):
                missing.append((q.pass_, q.text, ids(a)))
    assert not missing


@pytest.mark.parametrize("role", ["student", "company", "staff"])
def test_the_safety_route_cites_reporting_and_says_where_to_go(assistant, role: str) -> None:
    q = next(q for q in BANK_QUESTIONS if q.safety and q.role == role and not q.context)
    a = assistant.ask(q.text, role)
    assert not a.abstained and "safety" in a.reasons
    assert {"4.aanv.4", "4.aanv.5"} <= set(ids(a))
    if role in ("staff", "company"):  # the follow-up after a report, which their note describes
        assert "4.aanv.7" in ids(a)
    if role == "company":  # and the company's own duty of fair and safe treatment
        assert "4.aanv.2" in ids(a)
    assert "College voor de Rechten van de Mens" in a.answer  # where to go; the code does not judge


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_student_on_the_safety_route_is_told_where_to_find_the_reporting_point(lang: str) -> None:
    """Naming the reporting point is not enough for a student who does not know where it is: the
    route's note says whom to ask, whether the answer cites the reporting point or not."""
    for hits in ([Hit("4.aanv.4", 0.9), Hit("3B.5", 0.6)], [Hit("3B.5", 0.9)]):
        a = compose("?", lang, "student", hits, Verdict(False, ["safety"]), CORPUS, None)
        where = [p for p in TEXTS[lang]["safety"]["student"] if isinstance(p, str) and "?" in p]
        assert len(where) == 1 and where[0] in a.answer and "4.aanv.4" in ids(a)


@pytest.mark.parametrize("role", ["student", "company", "staff"])
def test_the_lead_answer_speaks_in_the_askers_voice(assistant, role: str) -> None:
    a = assistant.ask("Is the company obliged to pay travel costs for the internship?", role)
    assert not a.abstained
    for c in a.citations[:1]:
        assert assistant.corpus.summary(c.id, role, "en") in lead(a)
    if role != "student":
        assert "As an intern you receive" not in lead(a)
    if role == "staff":
        assert not re.search(r"\byou(r)?\b", lead(a).split("\n\n")[0], re.I)


def test_voices_cover_every_provision_in_both_languages() -> None:
    for p in CORPUS.provisions:
        for role in ("company", "staff"):
            for lang in ("nl", "en"):
                assert CORPUS.voices[p.id][role][lang].strip(), (p.id, role, lang)


@pytest.mark.parametrize("role", ["student", "company", "staff"])
def test_a_rule_is_said_as_what_should_be_not_as_a_fact(role: str) -> None:
    """The code words some rules as a state of affairs ("Er is een veilige en inclusieve
    leercultuur op de werkvloer"); said that way to a student telling of the opposite, it reads as
    a denial, so every voice says what should be."""
    as_fact = re.compile(r"\bthere (is|are)\b|\b(er is|er zijn|is er|zijn er)\b", re.I)
    for p in CORPUS.provisions:
        for lang in ("nl", "en"):
            assert not as_fact.search(CORPUS.summary(p.id, role, lang)), (p.id, lang)
    assert "hoort" in CORPUS.summary("3B.3", role, "nl") and "should" in CORPUS.summary("3B.3", role, "en")


def test_pointers_about_unequal_treatment_name_the_reporting_point() -> None:
    """A refusal about a pregnancy, an age, an illness, workplace adjustments or a dress rule
    still tells someone treated differently for who they are where to report it, in every voice
    and language; the corpus check holds every such topic to it."""
    grounds = {t.id for t in CORPUS.silent_topics if t.ground}
    assert {"pregnancy", "age", "sick_leave", "mental_health", "disability_adjustments", "dress_code",
            "religion_practice"} <= grounds
    assert not [p for p in CORPUS.problems() if p.startswith("topic ")]
    for topic in (t for t in CORPUS.silent_topics if t.ground):
        assert "4.aanv.4" in topic.related, topic.id
        for role in ("student", "company", "staff"):
            assert "meldpunt" in topic.where(role, "nl"), (topic.id, role)
            assert "reporting point" in topic.where(role, "en"), (topic.id, role)


def test_the_corpus_check_holds_a_ground_topic_to_the_reporting_point() -> None:
    """A topic marked as a ground of discrimination whose pointer forgets the reporting point, or
    does not relate it, is a problem `stagecode corpus check` names."""
    from dataclasses import replace

    from assistant.corpus.corpus import Corpus

    age = next(t for t in CORPUS.silent_topics if t.id == "age")
    bare = replace(age, related=(), where_en="The code sets no age limits.", voices={})
    problems = Corpus(CORPUS.provisions, CORPUS.curation, [bare]).problems()
    assert "topic age: a ground of discrimination, so 4.aanv.4 must be related" in problems
    assert "topic age: the student en pointer must name the reporting point" in problems
    assert "topic age: the student nl pointer must name the meldpunt" not in problems


@pytest.mark.parametrize("role", ["student", "company", "staff"])
@pytest.mark.parametrize("topic", ["mental_health", "pregnancy"])
def test_a_refusal_on_a_ground_topic_cites_the_reporting_point(role: str, topic: str) -> None:
    """Refused as a matter the code leaves open, a question about, say, burnout or a pregnancy
    still cites the reporting point its pointer names, even when the ranker and the topic's own
    related provisions fill the citations."""
    t = next(t for t in CORPUS.silent_topics if t.id == topic)
    hits = [Hit(pid, 0.9) for pid in ("3A.7", "3A.9", "3A.10")]
    a = compose("zwanger en nu?", "nl", role, hits, Verdict(True, [f"silent:{topic}"], [t]), CORPUS, None)
    assert a.abstained and len(a.citations) <= 3
    assert ids(a)[-1] == "4.aanv.4" and t.where(role, "nl") in a.answer
    plain = next(t for t in CORPUS.silent_topics if t.id == "holidays")
    b = compose("vakantie?", "nl", role, hits, Verdict(True, ["silent:holidays"], [plain]), CORPUS, None)
    assert "4.aanv.4" not in ids(b)


@pytest.mark.parametrize(("topic", "cited"), [("pregnancy", True), ("age", True), ("holidays", False)])
def test_an_answer_with_a_ground_topics_pointer_cites_the_reporting_point(topic: str, cited: bool) -> None:
    """An answered question that is also about a pregnancy or an age gets that topic's pointer,
    which names the reporting point: the reporting point is cited after the answer's own
    provisions and the pointer carries its number; another topic's pointer cites nothing more."""
    t = next(t for t in CORPUS.silent_topics if t.id == topic)
    a = compose("mag ik haar dagen inkorten?", "nl", "company", [Hit("3B.vd.3", 0.9), Hit("3B.5", 0.8)],
                Verdict(False, [f"silent:{topic}"], [t]), CORPUS, None, 0.05, 0.6)
    assert not a.abstained and ids(a)[0] == "3B.vd.3"
    assert ("4.aanv.4" in ids(a)) is cited
    if cited:
        assert ids(a)[-1] == "4.aanv.4" and f"{t.where('company', 'nl')} [{len(ids(a))}]" in a.answer
    else:
        assert t.where("company", "nl") in a.answer


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize(("open_share", "best", "first"), [
    (0.7, 0.45, True),
    (0.3, 0.45, False),  # more likely answered
    (0.7, 0.5, False),  # a provision more likely than not to answer ("cover for a sick colleague?": 3B.vd.3)
])
def test_an_answer_in_part_opens_with_the_open_matter_when_that_is_the_more_likely(
        open_share: float, best: float, first: bool, lang: str) -> None:
    """Answered in part, a question the decision finds more likely about the open matter than
    answered, and that no provision is more likely than not to answer, opens with where that
    matter is settled, and what the code does say follows; the citations and the rest of the
    answer are those of the rule-first answer."""
    from assistant.answering.abstain import OPEN_FIRST, decide
    from assistant.search.retrieve import Findings

    decision = {k: 0.0 for k in KINDS} | {"answer": 1.0 - open_share, "out_of_scope": open_share}
    hits = [Hit("3B.1", best), Hit("2.3", 0.4)]
    found = Findings(hits, decision, SafetyScore(0.0, 0.0, 0.6, 0.5), "insurance", 0.2)
    verdict = decide(found, CORPUS, {"answer_min": 0.2})
    assert not verdict.abstain and "silent:insurance" in verdict.reasons
    assert (OPEN_FIRST in verdict.reasons) is first
    a = compose("verzekerd?", lang, "student", hits, verdict, CORPUS, None, 0.05, 0.3)
    rules_first = compose("verzekerd?", lang, "student", hits,
                          Verdict(False, ["silent:insurance"], verdict.silent), CORPUS, None, 0.05, 0.3)
    pointer = verdict.silent[0].where("student", lang)
    assert not a.abstained and ids(a) == ids(rules_first) == ["3B.1", "2.3"]
    if first:
        said = [f"- {CORPUS.summary(pid, 'student', lang)} [{n}]" for n, pid in enumerate(ids(a), 1)]
        assert a.lead == pointer and a.notes[0] == "\n".join([TEXTS[lang]["related"], *said])
        assert a.notes[1:] == [n for n in rules_first.notes if n != pointer]
        assert a.answer.index(pointer) < a.answer.index("[1]")
    else:
        assert a.answer == rules_first.answer and pointer in a.notes and a.lead != pointer


@pytest.mark.parametrize(("topic", "open_share", "part", "noted"), [
    ("holidays", 0.3, None, True),  # no open-part model: the decision's out-of-scope share says it
    ("holidays", 0.3, 0.2, False),  # the open-part model finds no open matter, whatever that share
    ("holidays", 0.05, 0.8, True),  # the open-part model finds one where that share would not
    ("holidays", 0.05, None, False),
    ("sick_leave", 0.3, 0.2, True),  # its pointer cites the reporting point: either reading notes it
    ("sick_leave", 0.05, 0.2, False),
])
def test_an_answered_question_notes_an_open_matter_as_the_open_part_model_reads_it(
        topic: str, open_share: float, part: float | None, noted: bool) -> None:
    """An answered question gets the pointer of an open matter when the open-part model reaches
    its threshold and the topic model names the matter; a model without that part falls back on
    the decision's out-of-scope share, which still notes a matter whose pointer cites the
    reporting point."""
    from assistant.answering.abstain import decide
    from assistant.search.retrieve import Findings

    assert next(t for t in CORPUS.silent_topics if t.id == "sick_leave").relates_reporting_point
    assert not next(t for t in CORPUS.silent_topics if t.id == "holidays").relates_reporting_point
    decision = {k: 0.0 for k in KINDS} | {"answer": 1.0 - open_share, "out_of_scope": open_share}
    found = Findings([Hit("3B.vd.3", 0.9)], decision, SafetyScore(0.0, 0.0, 0.6, 0.5), topic, 0.5,
                     open_part=part)
    verdict = decide(found, CORPUS, {"answer_min": 0.2, "open_part_min": 0.5})
    assert not verdict.abstain
    assert (f"silent:{topic}" in verdict.reasons) is noted
    assert [t.id for t in verdict.silent] == ([topic] if noted else [])
    without_topic = decide(replace(found, topic=None), CORPUS, {"answer_min": 0.2, "open_part_min": 0.5})
    assert not any(r.startswith("silent:") for r in without_topic.reasons)


def test_a_list_question_lists_the_partys_provisions(assistant) -> None:
    q = next(q for q in BANK_QUESTIONS if q.kind == "list" and q.role == "company" and q.party == "company"
             and q.lang == "en" and not q.context)
    a = assistant.ask(q.text, "company")
    assert "list" in a.reasons and len(a.citations) >= 4
    allowed = {pid for group in checklist(CORPUS, "company", a.track).values() for pid in group}
    assert set(ids(a)) <= allowed
    assert all(f"[{i}]" in a.answer for i in range(1, len(a.citations) + 1))


@pytest.mark.parametrize(("role", "party"), [("staff", "company"), ("student", "school"), ("company", "student")])
def test_a_list_about_another_party_lists_that_partys_provisions_in_the_askers_voice(role: str, party: str) -> None:
    """"What must the company arrange?" asked by a coordinator lists the company's provisions,
    introduced and summarised for the coordinator."""
    for lang in ("nl", "en"):
        a = compose("?", lang, role, [], Verdict(False, ["list"], party=party), CORPUS, None)
        listed = [pid for phase, group in checklist(CORPUS, AUDIENCE_ROLE[party], None).items() for pid in group
                  if phase != "general"]
        assert ids(a) == listed and listed != [pid for g in checklist(CORPUS, role, None).values() for pid in g]
        assert a.answer.startswith(TEXTS[lang]["list_intro"][role][party].format(phase=""))
        # a summary in full, or (the manifesto's ambitions, under their own line) its words after
        # the opening they share
        assert all(" ".join(CORPUS.summary(pid, role, lang).split(" ")[-8:]) in a.answer for pid in listed)
        assert all(CORPUS.summary(pid, role, lang) in a.answer for pid in listed
                   if CORPUS.by_id[pid].kind != "ambition")


def test_the_shipped_party_model_names_the_party_better_than_the_askers_role(assistant) -> None:
    """Out of pass, the party model names whose obligations a list question asks for more often
    than taking the asker's own party does, on the bank's list questions and on each list-only pass."""
    figures = assistant.retriever.model.meta["figures"]
    lists = figures["all (party)"]
    assert lists["n"] >= 200 and lists["party_accuracy"] > lists["asker_accuracy"]
    side = {q.pass_ for q in load_bank(lists_folder(BANK), set(CORPUS.by_id)) if q.kind == "list"}
    assert side and all(figures[f"{name} (party)"]["party_accuracy"] > figures[f"{name} (party)"]["asker_accuracy"]
                        for name in side)


def test_the_list_choices_word_weight_is_the_one_right_most_often_out_of_pass() -> None:
    """The word model's weight in the party and phase blends is the grid's weight whose blend
    picks the labelled class most often, the lower weight on a tie."""
    from assistant.training.train import LIST_WORD_WEIGHTS, choose_choice_weight

    y = np.array([0, 1, 2, 0])
    vector = np.eye(3)[[0, 1, 1, 1]] * 0.6 + 0.1  # right on rows 0 and 1
    words = np.eye(3)[[1, 1, 2, 0]] * 0.9 + 0.05  # right on rows 1 to 3, sure of each
    assert choose_choice_weight(vector, words, y) == min(w for w in LIST_WORD_WEIGHTS if w > 0.4)
    assert choose_choice_weight(vector, vector, y) == 0.0  # no better with the words: the lower weight
    flat = np.full((4, 3), 1 / 3) + np.eye(3)[[1, 0, 0, 1]] * 0.01  # all but sure of nothing, wrong
    assert choose_choice_weight(flat, words, y) == min(w for w in LIST_WORD_WEIGHTS if w > 0)  # any weight fixes it


def test_a_lists_party_and_phase_come_from_the_word_blend_and_only_a_list_asks_them(assistant, monkeypatch) -> None:
    """A list request gets the party and phase of the vectors' and the words' models blended as
    the thresholds weight them (here the words, made to say the school during the placement, at
    full weight); a one-point answer never asks those models."""
    m = assistant.retriever.model
    asked: list[str] = []
    real = type(assistant.retriever).with_list_choices
    monkeypatch.setattr(type(assistant.retriever), "with_list_choices",
                        lambda self, found, text, role: asked.append(text) or real(self, found, text, role))
    one = assistant.ask("moet het bedrijf mijn reiskosten betalen?", "student", llm=False)
    assert "list" not in one.reasons and not asked
    question = "What must we arrange as a company before the intern starts? List every point."
    plain = assistant.ask(question, "company", llm=False)
    assert "list" in plain.reasons and asked == [question]
    assert plain.answer.startswith(TEXTS["en"]["list_intro"]["company"]["company"].split("{")[0])
    monkeypatch.setattr(m, "party_words", replace(m.party_words, coef=np.zeros_like(m.party_words.coef),
                                                  bias=np.array([-9.0, -9.0, 9.0])))
    monkeypatch.setattr(m, "phase_words", replace(m.phase_words, coef=np.zeros_like(m.phase_words.coef),
                                                  bias=np.array([-9.0, 9.0, -9.0, -9.0])))
    monkeypatch.setitem(m.thresholds, "party_word_weight", 1.0)
    monkeypatch.setitem(m.thresholds, "phase_word_weight", 1.0)
    school = assistant.ask(question, "company", llm=False)
    during = {pid for pid in checklist(CORPUS, "staff", None)["during"]}
    assert "list" in school.reasons and set(ids(school)) <= during
    assert school.answer.startswith(TEXTS["en"]["list_intro"]["company"]["school"].split("{")[0])


def test_the_shipped_phase_model_names_the_phase_better_than_the_most_common_one(assistant) -> None:
    """Out of pass, the phase model names the phase a list question asks for (or the whole list)
    more often than taking the most common phase, over all list questions and on every pass with
    ten or more of them."""
    figures = {k: m for k, m in assistant.retriever.model.meta["figures"].items() if "phase_accuracy" in m}
    assert figures["all (phase)"]["n"] >= 400
    assert all(m["phase_accuracy"] > m["common_accuracy"] for m in figures.values() if m["n"] >= 10)


def test_the_list_choices_read_the_searched_text_who_asks_and_the_message_alone() -> None:
    """A message read alone is its own "alone" part; a follow-up's message alone is the last part."""
    searched, alone = np.ones((1, 4), np.float32), np.full((1, 4), 2.0, np.float32)
    x = list_input(searched, ["company"])
    assert x.shape == (1, 4 + 3 + 4) and (x[0, -4:] == 1).all() and x[0, 4:7].tolist() == [0, 1, 0]
    assert (list_input(searched, [None], alone)[0, -4:] == 2).all()


def test_a_follow_ups_list_choices_read_its_message_alone_too(assistant, monkeypatch) -> None:
    """A follow-up read with the message before it has its party and phase chosen from both
    readings: a phase model that reads the message-alone part only, scoring "before" by its
    likeness to the joined text and "during" by its likeness to the follow-up, picks "before"
    for the joined text searched as one message and "during" for the follow-up."""
    r = assistant.retriever
    first = "What must we arrange as a company before the intern starts?"
    joined, alone = r.examine(f"{first} and during?", "company"), r.examine("and during?", "company")
    n = joined.vector.shape[1]
    W = np.zeros((2 * n + 3, len(LIST_PHASES)), np.float32)
    W[n + 3:, LIST_PHASES.index("before")] = joined.vector[0]
    W[n + 3:, LIST_PHASES.index("during")] = alone.vector[0]
    phase = Linear(W * 10, np.zeros(len(LIST_PHASES), np.float32), np.zeros(2 * n + 3, np.float32),
                   np.ones(2 * n + 3, np.float32))
    monkeypatch.setattr(r.model, "phase", phase)
    monkeypatch.setitem(r.model.thresholds, "phase_word_weight", 0.0)  # the vectors' model alone
    assert r.with_list_choices(joined, f"{first} and during?", "company").phase == "before"
    assert r.list_choices_of_follow_up(joined, alone, "and during?", "company").phase == "during"
    # the follow-up model's share of a list, here by the likeness of the message alone to itself
    W = np.zeros((2 * n + 3, 1), np.float32)
    W[n + 3:, 0] = alone.vector[0] * 10
    share = Linear(W, np.array([-5.0], np.float32), np.zeros(2 * n + 3, np.float32), np.ones(2 * n + 3, np.float32))
    monkeypatch.setattr(r.model, "follow_up_list", share)
    assert r.list_choices_of_follow_up(joined, alone, "and during?", "company").list_share > 0.99
    assert r.examine(f"{first} and during?", "company").list_share is None  # read alone: the decision's


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_list_shows_the_phase_the_verdict_names_or_the_whole_list(lang: str) -> None:
    """A list for one phase lists that phase's rows only and names the phase; "any" lists every
    phase that binds the party under its heading, not the definitions and closing declaration
    of the checklist's general part; without a phase the first hits' shared phase decides."""
    groups = checklist(CORPUS, "company", None)
    assert groups.pop("general")
    for phase in ("before", "during", "discrimination"):
        a = compose("?", lang, "company", [], Verdict(False, ["list"], phase=phase), CORPUS, None)
        assert ids(a) == groups[phase]
        assert a.answer.startswith(TEXTS[lang]["list_intro"]["company"]["company"].format(
            phase=TEXTS[lang]["list_phase"][phase]))
    whole = compose("?", lang, "company", [], Verdict(False, ["list"], phase="any"), CORPUS, None)
    assert ids(whole) == [pid for g in groups.values() for pid in g]
    assert all(TEXTS[lang]["phases"][ph] in whole.answer for ph in groups)
    during = [Hit(pid, 0.9) for pid in groups["during"][:3]]
    assert ids(compose("?", lang, "company", during, Verdict(False, ["list"]), CORPUS, None)) == groups["during"]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_list_leads_each_phase_with_the_rows_a_one_point_answer_would_cite(lang: str) -> None:
    """Within a phase the rows the citation cut keeps (at most three, best first) come first; the
    others keep the checklist's order, a weak hit too; a whole list keeps its phases in order,
    each ordered so; with no hits the list is the checklist's."""
    groups = checklist(CORPUS, "company", None)
    groups.pop("general")
    before, during = groups["before"], groups["during"]
    hits = [Hit(before[-1], 0.9), Hit(during[-1], 0.8), Hit(before[2], 0.6), Hit(before[4], 0.1)]

    def listed(phase: str, found: list[Hit]) -> list[str]:
        return ids(compose("?", lang, "company", found, Verdict(False, ["list"], phase=phase), CORPUS, None, 0.05, 0.6))

    lead = [before[-1], before[2]]
    assert listed("before", hits) == [*lead, *(p for p in before if p not in lead)]
    whole = listed("any", hits)
    assert whole[:len(before)] == listed("before", hits)
    assert whole[len(before):len(before) + len(during)] == [during[-1], *during[:-1]]
    assert whole[len(before) + len(during):] == [pid for ph, g in groups.items() if ph not in ("before", "during") for pid in g]
    assert listed("before", [Hit(before[3], 0.2), Hit(before[1], 0.05)]) == [before[3], *(p for p in before if p != before[3])]
    assert listed("before", []) == before


@pytest.mark.parametrize("role", ["student", "company", "staff"])
def test_a_discrimination_list_puts_the_manifestos_ambitions_after_the_agreements_and_says_whose_they_are(
        role: str) -> None:
    """The ambitions bind the manifesto's signatories, not the party asked about: in the list
    and the checklist they follow the agreements, and in the list a line names the signatories
    before them, even when the ranker's best hit is an ambition."""
    for party in AUDIENCES:
        group = checklist(CORPUS, AUDIENCE_ROLE[party], None)["discrimination"]
        kinds = [CORPUS.by_id[pid].kind == "ambition" for pid in group]
        assert any(kinds) and not all(kinds) and kinds == sorted(kinds)
        for lang in ("nl", "en"):
            a = compose("?", lang, role, [Hit(group[-1], 0.9)],
                        Verdict(False, ["list"], party=party, phase="discrimination"), CORPUS, None, 0.05, 0.6)
            listed = ids(a)
            first = next(i for i, pid in enumerate(listed) if CORPUS.by_id[pid].kind == "ambition")
            assert sorted(listed) == sorted(group) and all(CORPUS.by_id[p].kind == "ambition" for p in listed[first:])
            line = TEXTS[lang]["list_ambitions"].strip()
            assert a.answer.count(line) == 1
            assert a.answer.index(f"[{first}]") < a.answer.index(line) < a.answer.index(f"[{first + 1}]")
            assert "VNO-NCW/MKB-Nederland" in line
            # each ambition's own words, without the opening every summary of one shares
            said = [CORPUS.summary(pid, role, lang) for pid in listed[first:]]
            opening = " ".join(said[0].split(" ")[:4])
            assert all(s.startswith(opening) for s in said) and opening not in a.answer
            assert all(" ".join(s.split(" ")[-6:]) in a.answer for s in said)


def test_a_bank_phase_label_reads_as_a_list_choice() -> None:
    """"all" and "any" both ask for the whole list; a label that is no phase is no choice."""
    assert [list_phase(x) for x in ("all", "any", "before", "general", None)] == ["any", "any", "before", None, None]


def test_the_list_only_passes_are_list_questions_kept_out_of_the_bank(assistant) -> None:
    """The passes of `lists/` are list questions with their party and phase, many about another
    party than the asker's or following a message they ask another list after, follow-ups
    asking one point after a list request, and first messages asking one point in the words of
    a list request; they train the choices of a list and the list offer only: the index's bank
    has none of them."""
    side = load_bank(lists_folder(BANK), set(CORPUS.by_id))
    lists = [q for q in side if q.kind == "list"]
    assert lists and all(q.party in AUDIENCES and list_phase(q.phase) for q in lists)
    assert sum(q.party != ROLE_AUDIENCE[q.role] or q.context is not None for q in lists) > len(lists) / 2
    assert all(q.kind == "answer" and q.ids for q in side if q.kind != "list")  # one point, with its provisions
    assert not {q.pass_ for q in side} & {q.pass_ for q in BANK_QUESTIONS}
    assert assistant.retriever.index.bank.shape[0] == len(BANK_QUESTIONS)


@pytest.mark.parametrize("question", [
    "Do I get paid during my internship?",
    "Do we have to give our intern an allowance?",
    "Moeten wij de reiskosten van onze stagiair betalen?",
])
def test_a_pay_answer_names_both_pay_rules_and_no_amount_once(assistant, question: str) -> None:
    a = assistant.ask(question)
    assert not a.abstained and set(PAY) <= set(ids(a)), ids(a)
    # said once: by the rule's sentence, or by the amount topic's pointer in its own words
    pointer = next(t for t in CORPUS.silent_topics if t.id == "amount").where(a.role, a.language)
    said = TEXTS[a.language]["not_set"]["amount"], pointer.split(".")[0]
    assert sum(a.answer.count(s) for s in said) == 1, a.answer
    assert not re.search(r"€|\beuro\b|\d+ ?euro", a.answer)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_a_refusal_says_what_each_related_provision_does_say_in_the_askers_voice(lang: str) -> None:
    """The code sets no exact number of contact moments for a given length, but 3B.vd.1 sets one to
    three: the refusal lists that rule's summary, numbered as its source, voiced for the asker."""
    hits = [Hit("3B.vd.1", 0.8), Hit("3B.1", 0.6), Hit("3B.4", 0.2)]
    notes = {}
    for role in ("student", "company", "staff"):
        a = compose("how many contact moments for 10 weeks exactly?", lang, role, hits,
                    Verdict(True, ["not_covered"]), CORPUS, None, 0.05, 0.6)
        assert a.abstained and ids(a) == ["3B.vd.1", "3B.1"]
        notes[role] = a.notes[-1]
        assert notes[role].startswith(TEXTS[lang]["related"])
        for n, pid in enumerate(ids(a), 1):
            assert f"- {CORPUS.summary(pid, role, lang)} [{n}]" in notes[role]
    assert len(set(notes.values())) == 3  # a voice per role


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_a_rule_for_the_other_track_is_named_with_its_source_number(lang: str) -> None:
    """A dual student's question that finds the full-time travel-cost rule cites it last, with the
    other pay rule, and the note saying they do not apply names them by their titles (a reader
    does not know what "3B.vd.4" is) and as the sources they are."""
    hits = [Hit("3A.duaal", 0.8), Hit("3B.vd.4", 0.7)]
    a = compose("dual student, travel costs?", lang, "student", hits, Verdict(False), CORPUS, "duaal", 0.05, 0.6)
    assert ids(a) == ["3A.duaal", "3B.vd.4", "3B.vd.5"]  # a pay rule set aside brings the other
    named = (f"“{CORPUS.title('3B.vd.4', lang)}” [2]{TEXTS[lang]['and']}“{CORPUS.title('3B.vd.5', lang)}” [3]")
    assert named in a.notes[0] and "3B.vd.4" not in a.notes[0] and "[2]" not in a.lead


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("role", ["student", "company", "staff"])
def test_the_track_of_a_one_track_answer_is_said_once(lang: str, role: str) -> None:
    """A rule for full-time and part-time programmes is said to be one: by its own sentence when
    that names the track, and otherwise by the track note. A generated lead, which need not name
    it, gets the note back (`stated`)."""
    both = compose("travel costs?", lang, role, [Hit("3B.vd.4", 0.9), Hit("3B.vd.5", 0.8)], Verdict(False),
                   CORPUS, None, 0.05, 0.6)
    note = TEXTS[lang]["vd_only"]
    assert set(ids(both)[:2]) == set(PAY)
    assert note not in both.answer and both.stated == [note]
    for pid in ("3B.vd.1", "3B.vd.3", "3B.vd.4"):  # the voices name the track of these rules
        assert names_track(CORPUS.summary(pid, role, lang), "vd"), (pid, role, lang)
    # the footnote on handing over several students does not name it in a student's sentence
    footnote = compose("several students?", lang, "student", [Hit("fn.4", 0.9)], Verdict(False), CORPUS, None,
                       0.05, 0.6)
    assert ids(footnote) == ["fn.4"] and note in footnote.answer and footnote.stated == []


def test_the_amount_topics_pointer_is_the_only_no_amount_sentence() -> None:
    """An answered pay question that is also about the amount shows the amount topic's pointer,
    which says no amount is set in its own words: the rule's sentence is not added to it."""
    amount = next(t for t in CORPUS.silent_topics if t.id == "amount")
    hits = [Hit("pre.afwijken", 0.98), Hit("3B.vd.4", 0.97), Hit("3B.vd.5", 0.05)]
    for lang in ("en", "nl"):
        a = compose("Can we skip the travel costs?", lang, "company", hits,
                    Verdict(False, ["silent:amount"], [amount]), CORPUS, None, 0.05, 0.6)
        assert set(PAY) <= set(ids(a))
        assert TEXTS[lang]["not_set"]["amount"] not in a.answer
        assert a.answer.count(amount.where("company", lang)) == 1


@pytest.mark.parametrize(("hits", "about_pay"), [
    ([("4.aanv.2", 0.41), ("3B.3", 0.37), ("3B.vd.5", 0.28)], False),  # pay cited behind the subject
    ([("3B.vd.5", 0.19), ("3B.vd.4", 0.12)], True),  # a pay rule is the best answer
    ([("3B.5", 0.70), ("3B.vd.4", 0.62)], True),  # more likely than not
])
def test_a_pay_rule_makes_a_pay_answer_when_it_is_the_subject(hits: list, about_pay: bool) -> None:
    a = compose("question", "en", "student", [Hit(p, s) for p, s in hits], Verdict(False), CORPUS, None,
                0.05, 0.6)
    assert (set(PAY) <= set(ids(a))) is about_pay, ids(a)
    assert (TEXTS["en"]["not_set"]["amount"] in a.answer) is about_pay


@pytest.mark.parametrize(("cited", "expected"), [
    ("3B.vd.2", ["3B.vd.2a", "3B.vd.2b"]),  # a bare lead-in gives way to its items
    ("4.intro", ["4.intro", "4.amb.1", "4.amb.2", "4.amb.3", "4.amb.4"]),  # says more: kept, items after
])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_lead_in_is_followed_by_its_items(cited: str, expected: list[str], lang: str) -> None:
    """An answer that would cite a provision ending in a colon cites the items it announces;
    the provision itself stays when it says more than the lead-in (who signed the manifesto)."""
    a = compose("question", lang, "staff", [Hit(cited, 0.9), Hit("3B.5", 0.1)], Verdict(False), CORPUS, None,
                0.05, 0.6)
    assert ids(a) == expected
    for i in range(1, len(expected) + 1):
        assert f"[{i}]" in a.answer


@pytest.mark.parametrize("role", ["student", "company", "staff"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_items_cited_with_their_lead_in_are_listed_under_it(role: str, lang: str) -> None:
    """The ambitions read as a list under the sentence that announces them: one line each, with
    its number, and without the opening every summary shares."""
    a = compose("question", lang, role, [Hit("4.intro", 0.9), Hit("3B.5", 0.1)], Verdict(False), CORPUS, None,
                0.05, 0.6)
    lines = a.lead.split("\n")
    items = [line for line in lines if line.startswith("- ")]
    assert len(items) == 4 and lines[0].endswith("[1]"), a.lead
    said = [CORPUS.summary(f"4.amb.{n}", role, lang) for n in range(1, 5)]
    shared = " ".join(said[0].split(" ")[:3])
    assert all(s.startswith(shared) for s in said)  # the summaries do share an opening
    for n, line in enumerate(items, 2):
        assert line.endswith(f"[{n}]") and line[2].isupper() and shared not in line, line
        assert line[2:-len(f" [{n}]")].lower() in said[n - 2].lower()


def test_a_lettered_item_is_quoted_with_its_lead_in(assistant) -> None:
    a = assistant.ask("3B.vd.2a", "student", "nl")
    c = a.citations[0]
    assert c.id == "3B.vd.2a" and c.lead_in == CORPUS.by_id["3B.vd.2"].text
    assert c.lead_in in a.answer and c.text in a.answer


def test_a_bare_id_follows_the_conversations_language(assistant) -> None:
    chat = Conversation()
    assistant.ask("Who pays for my certificate of conduct?", conversation=chat)
    a = assistant.ask("3B.vd.4", conversation=chat)
    assert a.language == "en" and ids(a) == ["3B.vd.4"]


@pytest.mark.parametrize("reader", ["nl", "en"])
def test_a_word_or_two_that_opens_a_chat_is_answered_in_the_readers_language(assistant, reader: str) -> None:
    """Whoever types "discriminatie" or "vog" reads the answer in the language of the page; a
    sentence keeps its own language, and a chat's language comes before the page's."""
    for word in ("discriminatie", "vog"):
        a = assistant.ask(word, reader=reader)
        assert a.language == reader and a.citations
    assert assistant.ask("Who pays for my certificate of conduct?", reader="nl").language == "en"
    chat = Conversation()
    assistant.ask("Who pays for my certificate of conduct?", conversation=chat)
    assert assistant.ask("vog", conversation=chat, reader="nl").language == "en"


def test_a_long_chat_searches_a_bounded_text(assistant) -> None:
    chat = Conversation()
    first = assistant.ask(
        "Wie betaalt mijn reiskosten tijdens de stage? Ik reis elke dag met de trein van Groningen "
        "naar Zwolle en heb geen OV-kaart voor die tijden, want mijn studentenreisproduct is een "
        "weekendabonnement. Het bedrijf zegt dat ik dat zelf moet regelen en dat andere stagiairs "
        "ook nooit iets kregen. Mijn stagebegeleider van school reageert niet op mijn mails en ik "
        "heb al drie weken de kosten voorgeschoten, bijna tweehonderd euro. Ik snap niet wat de "
        "regels zijn en ik wil niet dat het mijn beoordeling beïnvloedt als ik erover begin.",
        conversation=chat)
    assert not first.abstained and len(first.question) > MAX_CONTEXT
    for _ in range(5):
        a = assistant.ask("en voor duale studenten?", conversation=chat)
        assert a.resolved_question is not None and a.resolved_question.startswith("Wie betaalt mijn reiskosten")
        assert len(a.resolved_question) <= MAX_CONTEXT + len(" en voor duale studenten?")


def test_an_abstention_without_a_known_topic_cites_nothing(assistant) -> None:
    a = assistant.ask("What's a good recipe for pancakes?")
    assert a.abstained and a.citations == []


def test_the_linear_models_are_probabilities() -> None:
    model = LearnedModel.load(shipped_path("use-multilingual"))
    x = np.random.default_rng(0).normal(size=(3, model.cls.W.shape[0])).astype(np.float32)
    p = model.cls.proba(x)
    assert p.shape == (3, len(CORPUS.provisions)) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert set(model.thresholds) >= {"cite_min", "cite_ratio", "answer_min", "safety_min", "topic_min"}


def test_the_lexicon_does_not_misfire_on_the_bank() -> None:
    """No override pattern of assistant/lexicon.yaml matches a question the code answers
    (`stagecode corpus check` reports the same)."""
    from assistant.answering.abstain import injection_misfires

    assert injection_misfires([(q.text, q.answered) for q in BANK_QUESTIONS]) == []


#: the step of the grid each threshold is chosen from in training; one not named is fixed
THRESHOLD_STEPS = {"answer_min": 0.01, "answer_min_short": 0.01, "cite_min": 0.05, "cite_ratio": 0.1,
                   "safety_min": 0.02, "safety_words_min": 0.02, "safety_min_short": 0.02,
                   "safety_words_min_short": 0.02, "safety_word_weight": 0.2, "topic_min": 0.05,
                   "follows_min": 0.05, "follows_min_opening": 0.05, "safety_mention_min": 0.02,
                   "safety_mention_min_short": 0.02, "open_part_min": 0.05, "topic_word_weight": 0.2,
                   "list_offer_min": 0.01, "list_offer_word_weight": 0.3, "party_word_weight": 0.3,
                   "phase_word_weight": 0.3}


@pytest.mark.slow
def test_training_reproduces_the_shipped_model(assistant, tmp_path) -> None:
    """`stagecode train` from this checkout gives the shipped model, to the solver's tolerance.

    On another BLAS kernel (OpenBLAS picks one per CPU) the question vectors differ in the
    seventh decimal, and the solver (lbfgs, tol 1e-4) stops at other weights: measured, up to
    1.8% of a part's largest weight. Each threshold is the best of a grid by a criterion that is
    flat near its best, so such weights can pick a neighbour: measured, one step of the safety
    grid (0.02) and two of the reading grid (0.45 → 0.55). So each part must be within 2% of its
    largest weight and each threshold within two steps of its grid.
    """
    from assistant.training.store import train_and_ship

    out = tmp_path / "model.npz"
    assert train_and_ship(CORPUS, assistant.retriever.embeddings, out=out) == 0
    shipped = LearnedModel.load(shipped_path("use-multilingual"))
    again = LearnedModel.load(out)
    assert again.thresholds.keys() == shipped.thresholds.keys()
    for key, value in shipped.thresholds.items():
        assert abs(again.thresholds[key] - value) <= 2 * THRESHOLD_STEPS.get(key, 0.0) + 1e-9, key
    for part in ("cls", "ranker", "decide", "safety", "topic", "reading", "decide_short", "party", "open_part"):
        assert getattr(shipped, part) is not None
        for name in ("W", "b"):
            a, b = getattr(getattr(again, part), name), getattr(getattr(shipped, part), name)
            assert a.shape == b.shape, (part, name)
            assert np.abs(a - b).max() <= 0.02 * np.abs(b).max() + 1e-4, (part, name, float(np.abs(a - b).max()))
    for words in ("safety_words", "topic_words", "party_words", "phase_words"):
        a, b = getattr(again, words), getattr(shipped, words)
        assert a is not None and b is not None and list(a.terms) == list(b.terms), words
        assert np.abs(a.coef - b.coef).max() <= 0.02 * np.abs(b.coef).max() + 1e-4, words


def _bank_of(rows: int, dim: int = 64) -> BankVectors:
    rng = np.random.default_rng(1)
    m = rng.normal(size=(rows, dim)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    labels = np.zeros((rows, 3), dtype=bool)
    labels[np.arange(rows), np.arange(rows) % 3] = True
    return BankVectors(m, labels, np.arange(rows) % len(KINDS), np.zeros(rows, dtype=int), [None] * rows,
                       np.zeros(rows, dtype=bool))


@pytest.mark.parametrize("rows", [10, PIECE + 1, PIECE + 2, 2 * PIECE + 1044])
def test_the_split_bank_product_equals_the_whole_product(rows: int) -> None:
    """One question's similarities, computed piecewise by two threads (or one, when there is a
    single piece), are the very numbers of the plain product, so answers do not depend on it."""
    from threadpoolctl import threadpool_limits

    bank = _bank_of(rows)
    one, many = (np.random.default_rng(2).normal(size=(n, bank.matrix.shape[1])).astype(np.float32) for n in (1, 5))
    with threadpool_limits(limits=1, user_api="blas"):  # as when answering (assistant.build)
        assert np.array_equal(bank.similarities(one), one @ bank.columns)
        assert np.array_equal(bank.similarities(many), many @ bank.columns)


def test_the_split_bank_product_does_not_wait_for_a_busy_helper() -> None:
    """While the helper thread is held by another question, this one computes every piece itself."""
    import threading

    from threadpoolctl import threadpool_limits

    bank = _bank_of(2 * PIECE + 10)
    if bank._helper is None:
        pytest.skip("one core: the product is never split")
    release = threading.Event()
    busy = bank._helper.submit(release.wait, 30)
    try:
        q = np.random.default_rng(4).normal(size=(1, bank.matrix.shape[1])).astype(np.float32)
        with threadpool_limits(limits=1, user_api="blas"):
            assert np.array_equal(bank.similarities(q), q @ bank.columns)
        assert not busy.done()
    finally:
        release.set()


def test_each_askers_safety_route_is_what_the_safety_passes_label_for_that_asker() -> None:
    """Beyond the reporting point and how to report, the route cites for each asker the provisions
    the safety-route passes label for at least half of that asker's cases, most often labelled
    first: a company hears of its own duties, staff of the follow-up after a report."""
    from collections import Counter

    from assistant.answering.answer import SAFETY, SAFETY_BY_ROLE

    cases = [q for q in load_bank(route_folder(BANK), set(CORPUS.by_id), safety_labels=True) if q.safety]
    for role in ("student", "staff", "company"):
        mine = [q for q in cases if q.role == role]
        counts = Counter(pid for q in mine for pid in q.ids if pid not in SAFETY)
        assert len(mine) >= 50
        assert SAFETY_BY_ROLE[role] == tuple(p for p, n in counts.most_common() if n >= len(mine) / 2), role


@pytest.mark.parametrize("role", ["student", "staff", "company"])
def test_the_safety_route_leads_with_what_concerns_the_asker_then_answers_what_was_asked(role: str) -> None:
    """The route's first provision that concerns the asker comes first (the reporting point for a
    student or staff, a company's own duty of fair treatment for a company) and the asked
    question's best provision second, so the route does not push the answer to the question
    itself out of the first three citations."""
    from assistant.answering.abstain import Verdict
    from assistant.answering.answer import compose, safety_route
    from assistant.search.retrieve import Hit

    hits = [Hit("4.aanv.8", 0.9), Hit("3B.3", 0.4), Hit("4.aanv.4", 0.3)]
    a = compose("a new placement after a case?", "en", role, hits, Verdict(False, ["safety"]), CORPUS, None)
    cited = [c.id for c in a.citations]
    route = safety_route(role)
    first = [p for p in route if ROLE_AUDIENCE[role] in CORPUS.curation[p].audiences][0]
    assert cited[:2] == [first, "4.aanv.8"]
    assert first == ("4.aanv.2" if role == "company" else "4.aanv.4")
    assert set(route) <= set(cited) and len(cited) == len(set(cited))


@pytest.mark.parametrize("role", ["student", "staff", "company"])
def test_the_second_tier_adds_the_route_after_what_the_ranker_found(role: str) -> None:
    """Recognised only with the word model, the reporting point follows the ranker's citations
    rather than displacing them, and the note on where to report is there as in the first tier."""
    from assistant.answering.abstain import Verdict
    from assistant.answering.answer import MAX_SAFETY_CITATIONS, compose, safety_route
    from assistant.search.retrieve import Hit

    hits = [Hit("3B.5", 0.8), Hit("def.werkbegeleider", 0.6), Hit("3B.1", 0.1)]
    a = compose("werkbegeleider en mijn hoofddoek", "nl", role, hits, Verdict(False, ["safety_also"]), CORPUS,
                None, 0.05, 0.6)
    route = safety_route(role)
    assert ids(a) == ["3B.5", "def.werkbegeleider", *route][:MAX_SAFETY_CITATIONS]
    assert "College voor de Rechten van de Mens" in a.answer and "{cite:" not in a.answer


@pytest.mark.parametrize("reasons", [["safety"], ["safety_also"]])
@pytest.mark.parametrize("role", ["student", "staff", "company"])
def test_a_route_answer_to_a_question_the_decision_would_refuse_cites_no_mere_resemblance(
        reasons: list[str], role: str) -> None:
    """When the decision alone would refuse the question ("too old they said"), the ranker's
    provisions under even odds are left out, as in a refusal, and the route leads with its first
    provision for the asker; one more likely than not still follows it."""
    from assistant.answering.abstain import Verdict
    from assistant.answering.answer import MAX_SAFETY_CITATIONS, compose, safety_route
    from assistant.domain import ROLE_AUDIENCE
    from assistant.search.retrieve import Hit

    route = safety_route(role)
    first = next(p for p in route if ROLE_AUDIENCE[role] in CORPUS.curation[p].audiences)
    weak = [Hit("fn.1", 0.3), Hit("3B.vd.2b", 0.2)]
    a = compose("too old they said", "en", role, weak, Verdict(False, reasons, answerable=False), CORPUS,
                None, 0.05, 0.6)
    assert ids(a) == list(dict.fromkeys([first, *route]))[:MAX_SAFETY_CITATIONS]
    strong = [Hit("3B.3", 0.7), *weak]
    a = compose("too old they said", "en", role, strong, Verdict(False, reasons, answerable=False), CORPUS,
                None, 0.05, 0.6)
    assert ids(a)[:2] == [first, "3B.3"] and "fn.1" not in ids(a)


@pytest.mark.parametrize(("reasons", "hits"), [
    (["safety"], [Hit("4.aanv.8", 0.9)]),  # the whole route cited
    (["safety_also"], [Hit("3B.5", 0.8), Hit("3B.vd.3", 0.7), Hit("3B.1", 0.6)]),  # the route cut short
])
@pytest.mark.parametrize("role", ["student", "company", "staff"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_safety_note_says_only_what_the_cited_sentences_do_not(
        reasons: list[str], hits: list[Hit], role: str, lang: str) -> None:
    """The route's note leaves out the reporting point or the three-way meeting when that
    provision's sentence already stands in the answer, says it itself when it does not, and
    always says where to go to have the matter judged."""
    a = compose("what now?", lang, role, hits, Verdict(False, reasons), CORPUS, None, 0.05, 0.6)
    cited = ids(a)
    note = next(n for n in a.notes if "College voor de Rechten van de Mens" in n)
    for part in TEXTS[lang]["safety"][role]:
        text = part if isinstance(part, str) else part["text"]
        expected = isinstance(part, str) or (
            ("cited" not in part or part["cited"] in cited) and part.get("uncited") not in cited)
        assert (text in note) is expected, (part, cited)
    assert not re.search(r"\[\d+\]", note)  # a gloss of the code, not the code's words
    assert "4.aanv.4" in cited or "meldpunt" in note  # the reporting point, either way


@pytest.mark.parametrize(("reasons", "hits", "duty_cited"), [
    (["safety"], [Hit("4.aanv.3", 0.9)], True),
    (["safety_also"], [Hit("3B.5", 0.8), Hit("3B.vd.3", 0.7), Hit("3B.1", 0.6)], False),
])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_companys_safety_note_says_its_duty_where_the_citations_do_not(
        reasons: list[str], hits: list[Hit], duty_cited: bool, lang: str) -> None:
    """A company weighing whether to end or refuse a placement over who the intern is reads that
    the code commits its staff to fair treatment: in the cited 4.aanv.2 when the route had room
    for it, else in the note; and the note, which glosses the code, claims no citation number."""
    a = compose("may we end her placement?", lang, "company", hits, Verdict(False, reasons), CORPUS, None,
                0.05, 0.6)
    cited = [c.id for c in a.citations]
    note = next(n for n in a.notes if "College voor de Rechten van de Mens" in n)
    duty = next(p["text"] for p in TEXTS[lang]["safety"]["company"] if isinstance(p, dict) and p.get("uncited") == "4.aanv.2")
    assert ("4.aanv.2" in cited) is duty_cited
    assert (duty in note) is not duty_cited
    assert not re.search(r"\[\d+\]", note) and "{cite:" not in a.answer


def _findings(safety: float, words: float, decision: str, topic: str | None = None) -> object:
    from assistant.search.retrieve import Findings

    return Findings([], {k: float(k == decision) for k in KINDS}, SafetyScore(safety, words, 0.6, 0.5), topic, 0.5)


@pytest.mark.parametrize(("topic", "noted"), [("harassment", True), ("pregnancy", False), ("sick_leave", False)])
@pytest.mark.parametrize("role", ["student", "company", "staff"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_route_answer_adds_a_topics_pointer_only_where_it_has_one_for_the_route(
        topic: str, noted: bool, role: str, lang: str) -> None:
    """A case the topic model reads as harassment is told, beside the reporting point, that the
    confidential adviser and complaints procedure are there too; the pointer of another topic,
    which says the code leaves the matter open, never stands in a route answer."""
    from assistant.answering.abstain import decide
    from assistant.search.retrieve import Hit

    verdict = decide(_findings(0.9, 0.9, "out_of_scope", topic), CORPUS, {"answer_min": 0.2})
    assert verdict.reasons == ["safety"] and not verdict.abstain
    a = compose("they keep touching me", lang, role, [Hit("3B.3", 0.6)], verdict, CORPUS, None, 0.05, 0.6)
    t = next(t for t in CORPUS.silent_topics if t.id == topic)
    assert t.where(role, lang) not in a.answer
    assert (t.route_note(role, lang) is not None) is noted
    if noted:
        assert t.route_note(role, lang) in a.answer
        assert t.route_note(role, lang) != t.route_note("student" if role != "student" else "staff", lang)  # voiced


@pytest.mark.parametrize(("safety", "words", "decision", "reasons"), [
    (0.9, 0.9, "out_of_scope", ["safety"]),  # the safety model alone: the reporting point leads
    (0.1, 0.9, "out_of_scope", ["safety_also"]),  # with the word model: never refused either
    (0.1, 0.1, "answer", []),
    (0.9, 0.1, "unrelated", ["unrelated"]),  # the safety model alone fires on code and logs too
    (0.9, 0.9, "unrelated", ["safety"]),  # backed by the word model, an off-topic call is overruled
    (0.1, 0.9, "injection", ["safety_also"]),
    # an override attempt says nothing of who one is: the safety model alone is not overruled
    (0.9, 0.1, "injection", ["safety"]),
])
def test_the_safety_route_has_two_tiers_and_refuses_neither(safety: float, words: float, decision: str,
                                                            reasons: list[str]) -> None:
    from assistant.answering.abstain import decide

    thresholds = {"answer_min": 0.2}
    verdict = decide(_findings(safety, words, decision), CORPUS, thresholds)
    assert verdict.reasons == reasons and verdict.abstain == (reasons == ["unrelated"])
    if not verdict.abstain:
        assert verdict.answerable == (decision == "answer")  # the decision alone would answer it


@pytest.mark.parametrize("kind", ["injection", "unrelated", "answer", "out_of_scope"])
def test_a_bank_question_labelled_no_safety_case_is_decided_by_its_label(kind: str) -> None:
    """However high its safety scores, a question the bank holds word for word with the label
    "no safety case" is answered or refused as its label says, never sent down the route."""
    from assistant.answering.abstain import decide
    from assistant.search.retrieve import Findings

    found = Findings([], {k: 0.0 for k in KINDS}, SafetyScore(0.9, 0.9, 0.6, 0.5, 0.4), None, 0.5,
                     same_as=(kind, False))
    verdict = decide(found, CORPUS, {"answer_min": 0.2})
    assert not set(verdict.reasons) & {"safety", "safety_also"} and not verdict.mention
    assert verdict.abstain is (kind != "answer")
    labelled_safe = decide(Findings([], {k: 0.0 for k in KINDS}, SafetyScore(0.0, 0.0, 0.6, 0.5), None, 0.5,
                                    same_as=(kind, True)), CORPUS, {"answer_min": 0.2})
    assert labelled_safe.reasons == ["safety"]


@pytest.mark.parametrize(("decision", "share", "same_as", "listed"), [
    ("answer", None, None, False), ("list", None, None, True),  # no follow-up model: the decision
    ("answer", 0.8, None, True), ("list", 0.2, None, False),  # the follow-up model decides
    ("answer", 0.8, ("answer", False), False),  # a bank question's label wins
])
def test_a_follow_ups_list_or_one_point_is_the_follow_up_models_to_say(
        decision: str, share: float | None, same_as: tuple[str, bool] | None, listed: bool) -> None:
    """An answered follow-up is a list or one point as the follow-up model's share says, whatever
    the decision's own list and answer shares; it cannot turn a refusal into an answer."""
    from dataclasses import replace

    from assistant.answering.abstain import decide

    found = replace(_findings(0.0, 0.0, decision), list_share=share, same_as=same_as)
    assert ("list" in decide(found, CORPUS, {"answer_min": 0.2}).reasons) is listed
    refused = replace(_findings(0.0, 0.0, "out_of_scope"), list_share=0.9)
    assert decide(refused, CORPUS, {"answer_min": 0.2}).abstain


def _near_route(words: float, decision: str, topic: str | None = None, same_as: tuple[str, bool] | None = None,
                hits: list[Hit] | None = None) -> object:
    """Findings the route does not take (the safety model and the blend below their thresholds)
    with a mention threshold of 0.4."""
    from assistant.search.retrieve import Findings

    return Findings(hits or [], {k: float(k == decision) for k in KINDS}, SafetyScore(0.1, words, 0.6, 0.5, 0.4),
                    topic, 0.5, same_as=same_as)


@pytest.mark.parametrize(("words", "decision", "same_as", "mention"), [
    (0.45, "out_of_scope", None, True),  # near the route, refused: the reporting point is named
    (0.45, "injection", None, True),  # also when refused as an override attempt
    (0.45, "unrelated", None, True),
    (0.45, "answer", None, True),  # answered: after the answer's own provisions
    (0.3, "out_of_scope", None, False),  # below the mention threshold: as before
    (0.3, "answer", None, False),
    (0.45, "out_of_scope", ("out_of_scope", False), False),  # a bank question's label says it is no safety case
])
@pytest.mark.parametrize("role", ["student", "company", "staff"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_question_near_the_safety_route_names_the_reporting_point(
        words: float, decision: str, same_as: tuple[str, bool] | None, mention: bool, role: str, lang: str) -> None:
    """A question the route does not take but whose safety score comes near it is asked, in the
    asker's voice, whether it is about unequal treatment, and shown the reporting point last: a
    refusal stays a refusal and keeps two of its related provisions, an answer keeps its own."""
    from assistant.answering.abstain import decide

    # provisions whose next steps do not cite the reporting point themselves
    hits = [Hit("3B.vd.1", 0.8), Hit("3B.2", 0.7), Hit("2.2", 0.6)]
    verdict = decide(_near_route(words, decision, same_as=same_as, hits=hits), CORPUS, {"answer_min": 0.2})
    assert verdict.abstain is (decision != "answer") and verdict.mention is mention
    a = compose("q", lang, role, hits, verdict, CORPUS, None, 0.05, 0.6)
    cited = [c.id for c in a.citations]
    # a refusal's list of what the code says gives the reporting point's promise already; a
    # refusal with no open matter to name leads with the reporting point instead
    key = ("not_covered_mention" if verdict.reasons[0] == "not_covered" else "safety_mention_related") \
        if verdict.abstain else "safety_mention"
    note = TEXTS[lang][key][role]
    assert ("safety_mention" in a.reasons) is mention
    assert (note.format(n=len(cited)) in a.answer) is mention
    assert a.answer.startswith(note.format(n=len(cited))) is (mention and key == "not_covered_mention")
    assert ("4.aanv.4" in cited) is mention
    if mention:
        assert cited[-1] == "4.aanv.4" and cited.count("4.aanv.4") == 1
        own = {"out_of_scope": ["3B.vd.1", "3B.2"], "answer": ["3B.vd.1", "3B.2", "2.2"]}.get(decision, [])
        assert cited[:len(own)] == own


def test_an_answer_citing_the_reporting_point_already_is_not_asked_again() -> None:
    """Near the route, an answer whose own provisions or next steps cite the reporting point
    already (a student used as a worker, 3B.5) gets no second citation of it and no question."""
    from assistant.answering.abstain import decide

    hits = [Hit("3B.5", 0.8)]
    verdict = decide(_near_route(0.45, "answer", hits=hits), CORPUS, {"answer_min": 0.2})
    a = compose("q", "en", "student", hits, verdict, CORPUS, None, 0.05, 0.6)
    assert verdict.mention and [c.id for c in a.citations].count("4.aanv.4") == 1
    assert "safety_mention" not in a.reasons


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_ground_topics_refusal_names_the_reporting_point_once(lang: str) -> None:
    """A refused question on a matter that touches a ground of discrimination already names the
    reporting point in its pointer: near the route, it is not asked again."""
    from assistant.answering.abstain import decide

    verdict = decide(_near_route(0.45, "out_of_scope", "pregnancy"), CORPUS, {"answer_min": 0.2})
    a = compose("q", lang, "student", [], verdict, CORPUS, None)
    assert verdict.mention and verdict.on_ground
    assert [c.id for c in a.citations].count("4.aanv.4") == 1 and "safety_mention" not in a.reasons
    assert TEXTS[lang]["safety_mention"]["student"].split("?")[0] not in a.answer


def test_the_mention_threshold_is_chosen_among_what_the_route_leaves() -> None:
    """The mention threshold is chosen among what the route left: the best F2 separates the
    discrimination situations from the other questions, and the mention leans to recall within the
    noise of that best (a needless mention displaces nothing); with none of them left, no refusal
    names the reporting point."""
    from assistant.training.train import f2_threshold, mention_threshold

    blend = np.array([0.45, 0.4, 0.35, *np.linspace(0.0, 0.3, 40), 0.9])
    ys = np.array([True, True, True, *[False] * 40, True])
    left = np.array([True] * 43 + [False])  # the last one took the route
    best = f2_threshold(blend, ys, left)
    t = mention_threshold(blend, ys, left)
    assert 0.3 < best <= 0.35 and 0.2 < t <= best
    assert mention_threshold(blend, ys, left & ~ys) == 1.0


def test_the_open_part_threshold_has_the_best_f1_of_the_notes() -> None:
    """The open-part threshold is the grid's with the best F1 of the notes among the questions
    that can get one: here 0.5 notes four of the five open ones and one answered question (F1
    0.8); 0.55 drops an open one (0.75), 0.2 adds three answered ones (0.71). The notes the old
    rule still gives count as given, and the higher threshold wins a tie."""
    from assistant.training.train import open_part_threshold

    prob = np.array([0.9, 0.8, 0.7, 0.5, 0.2, 0.95, 0.52, 0.4, 0.3, 0.2, 0.1])
    open_ = np.array([True] * 5 + [True] + [False] * 5)
    can = np.array([True] * 5 + [False] + [True] * 5)  # the sixth is refused: no note either way
    none = np.zeros(11, dtype=bool)
    assert open_part_threshold(prob, open_, can, none) == pytest.approx(0.5)
    # the fourth (0.5) noted by the old rule: 0.55 to 0.7 note the same four and nothing else
    assert open_part_threshold(prob, open_, can, np.arange(11) == 3) == pytest.approx(0.7)
    # nothing open to note: every threshold scores nil, and the highest notes the fewest
    assert open_part_threshold(prob, none, can, none) == pytest.approx(0.95)


def test_a_leaning_safety_threshold_is_the_lowest_within_the_noise_of_the_best_f2() -> None:
    """F2 is flat near its best: the tiers that name the reporting point after the answer take the
    lowest threshold whose F2 is within one bootstrap standard error of the best, at or under the
    best's threshold; the leading tier keeps the best. Both are the same on every run."""
    from assistant.training.train import f2_threshold

    rng = np.random.default_rng(3)
    ys = rng.random(600) < 0.1
    score = np.clip(np.where(ys, rng.normal(0.65, 0.18, 600), rng.normal(0.3, 0.15, 600)), 0.0, 1.0)
    every = np.ones(600, dtype=bool)
    grid = np.linspace(0.02, 0.98, 49)

    def f2(t: float) -> float:
        found = score >= t
        tp, fn, fp = (found & ys).sum(), (~found & ys).sum(), (found & ~ys).sum()
        return 5 * tp / max(5 * tp + 4 * fn + fp, 1)

    best = f2_threshold(score, ys, every)
    lean = f2_threshold(score, ys, every, lean=True)
    assert f2(best) == max(f2(t) for t in grid)
    assert lean < best and f2(lean) < f2(best) and lean == f2_threshold(score, ys, every, lean=True)
    assert f2(lean) > f2(best) - 0.1


@pytest.mark.parametrize(("decision", "topic", "pointer"), [
    ("unrelated", "holidays", True),  # "how many days off do i get", read as off topic
    ("unrelated", None, False),
    ("unrelated", "other", False),  # the topic model's class for no known matter
    ("injection", "holidays", False),  # an override attempt gets no pointer
])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_an_off_topic_refusal_says_where_a_known_open_matter_is_settled(
        decision: str, topic: str | None, pointer: bool, lang: str) -> None:
    """Refused as off topic, a question the topic model places in a matter the code leaves open
    still hears where that matter is settled, as a question; it is refused all the same and cites
    nothing, so a truly off-topic message loses nothing but reads a pointer it can ignore."""
    from assistant.answering.abstain import decide
    from assistant.search.retrieve import Findings

    found = Findings([], {k: float(k == decision) for k in KINDS}, SafetyScore(0.0, 0.0, 0.6, 0.5), topic, 0.5)
    verdict = decide(found, CORPUS, {"answer_min": 0.2})
    a = compose("q", lang, "student", [], verdict, CORPUS, None)
    where = {t.id: t.where("student", lang) for t in CORPUS.silent_topics}
    assert a.abstained and verdict.reasons[0] == decision and a.citations == []
    assert (f"silent:{topic}" in verdict.reasons) is pointer
    assert (where["holidays"] in a.answer) is pointer
    assert (TEXTS[lang][decision] in a.answer) is not pointer


@pytest.mark.parametrize(("open_share", "topic", "pointer"), [
    (0.6, "sick_leave", True),  # "what are my rights if I fall ill?": a list, and the matter is open
    (0.1, "sick_leave", False),  # under the answer threshold: the list settles what was asked
    (0.6, None, False),
])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_list_as_likely_about_an_open_matter_says_where_it_is_settled(
        open_share: float, topic: str | None, pointer: bool, lang: str) -> None:
    """A list answer gets the open topic's pointer on the rule an answer does, so its obligations
    are not read as settling the open matter; a pointer that names the reporting point cites it."""
    from assistant.answering.abstain import decide
    from assistant.search.retrieve import Findings

    rest = 1.0 - open_share
    decision = {k: 0.0 for k in KINDS} | {"list": 0.6 * rest, "answer": 0.4 * rest, "out_of_scope": open_share}
    found = Findings([Hit("3B.1", 0.5), Hit("3B.5", 0.4)], decision, SafetyScore(0.0, 0.0, 0.6, 0.5), topic, 0.5)
    verdict = decide(found, CORPUS, {"answer_min": 0.2})
    a = compose("q", lang, "student", found.hits, verdict, CORPUS, None)
    assert not a.abstained and verdict.reasons[0] == "list" and "list" in a.reasons
    where = next(t for t in CORPUS.silent_topics if t.id == "sick_leave")
    assert (where.where("student", lang) in a.answer) is pointer
    assert ("silent:sick_leave" in a.reasons) is pointer
    if pointer and where.ground:
        n = ids(a).index("4.aanv.4") + 1
        assert f"{where.where('student', lang)} [{n}]" in a.answer


def test_the_word_model_gives_scikit_learns_probabilities() -> None:
    """Answering recomputes the tf-idf vector of one question without scikit-learn: the same
    probability as the fitted vectoriser and regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from assistant.learn.words import VECTORIZER, fit_words

    texts = [q.text for q in BANK_QUESTIONS[:400]]
    y = np.array([bool(q.safety) for q in BANK_QUESTIONS[:400]], dtype=int)
    y[:5] = 1  # both classes, whatever the first lines are
    model = fit_words(texts, y, C=4.0)
    vec = TfidfVectorizer(**VECTORIZER)  # type: ignore[arg-type]
    lr = LogisticRegression(C=4.0, max_iter=3000, random_state=0, class_weight="balanced").fit(vec.fit_transform(texts), y)
    probe = [*texts[:20], "mijn werkbegeleider maakt grapjes over mijn hoofddoek", "", "xyzzy"]
    assert np.allclose(model.proba(probe), lr.predict_proba(vec.transform(probe))[:, 1], atol=1e-9)


def test_the_topic_word_model_gives_scikit_learns_probabilities() -> None:
    """The topic's word model, recomputed without scikit-learn, gives the fitted regression's
    class probabilities, each in its class's column; a class no text had is never likely."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from assistant.learn.words import VECTORIZER, fit_word_classes

    lines = [q for q in BANK_QUESTIONS if q.kind == "out_of_scope" and q.topic][:300]
    names = sorted({q.topic for q in lines})
    texts, y = [q.text for q in lines], np.array([names.index(q.topic) + 1 for q in lines])  # class 0: none
    model = fit_word_classes(texts, y, len(names) + 1, C=10.0)
    vec = TfidfVectorizer(**VECTORIZER)  # type: ignore[arg-type]
    lr = LogisticRegression(C=10.0, max_iter=3000, random_state=0).fit(vec.fit_transform(texts), y)
    probe = [*texts[:20], "hoeveel vakantiedagen krijg ik en wie is mijn begeleider", "", "xyzzy"]
    p = model.proba(probe)
    assert p.shape == (len(probe), len(names) + 1) and np.allclose(p.sum(axis=1), 1.0)
    assert np.allclose(p[:, 1:], lr.predict_proba(vec.transform(probe)), atol=1e-5)
    assert p[:, 0].max() < 1e-9


def test_the_topic_word_weight_is_the_one_naming_most_right_topics() -> None:
    """The blend weight is the grid's that names the most right topics out of pass: none when
    the word model only adds errors, a high one when only the words know the topic."""
    from assistant.training.train import TOPIC_WORD_WEIGHTS, choose_topic_word_weight

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, size=200)
    sure = np.eye(5)[truth] * 0.6 + 0.08  # right, and sure of it
    noise = rng.dirichlet(np.ones(5), size=200)
    weight, figures = choose_topic_word_weight((sure, sure[:0]), (noise, noise[:0]), (truth, truth[:0]))
    assert weight == 0.0 and figures["bank (topic)"]["right"] == figures["bank (topic)"]["right_vector"] == 200
    weight, figures = choose_topic_word_weight((noise,), (sure,), (truth,))
    assert weight in TOPIC_WORD_WEIGHTS and weight >= 0.5 and figures["bank (topic)"]["right"] == 200
    assert figures["bank (topic)"]["right_vector"] < 100


def test_the_safety_curve_gives_recall_at_each_false_alarm_rate() -> None:
    """Out-of-pass recall at fixed false-alarm rates: a model whose scores separate the classes
    perfectly finds every safety question; one that scores them like the rest finds few."""
    from dataclasses import replace

    from assistant.training.train import FALSE_ALARM_RATES, safety_curve

    q = BANK_QUESTIONS[0]
    bank = [replace(q, safety=True)] * 50 + [replace(q, safety=False)] * 950 + [replace(q, safety=None)] * 10
    rng = np.random.default_rng(0)
    noise = rng.uniform(size=len(bank))
    separated = safety_curve(np.where([b.safety is True for b in bank], 0.99, noise * 0.9), bank)
    assert list(separated) == [f"{fa:g}" for fa in FALSE_ALARM_RATES]
    assert all(v == 1.0 for v in separated.values())
    blind = safety_curve(noise, bank)
    assert list(blind.values()) == sorted(blind.values()) and max(blind.values()) < 0.3


def test_a_safety_route_pass_is_reported_by_recall_and_false_alarms_only() -> None:
    """The route pass gets its own row in the training report: recall on its safety questions and
    false alarms on its look-alikes as routed, and no ranking figures it has none of."""
    from dataclasses import replace

    from assistant.training.train import report, route_figures

    q = BANK_QUESTIONS[0]
    route = [replace(q, safety=True, pass_="p9_route")] * 4 + [replace(q, safety=False, pass_="p9_route")] * 5
    scores = np.array([0.9, 0.7, 0.5, 0.1, 0.8, 0.2, 0.1, 0.0, 0.3])
    figures = route_figures(route, scores >= 0.6)
    row = figures["p9_route (safety only)"]
    assert row == {"n": 9, "safety_recall": 0.5, "safety_false_alarm": 0.2}
    line = next(x for x in report(figures, {"safety_min": 0.6}, {}).splitlines() if x.startswith("| p9_route"))
    assert line.count("—") == 7 and "| 0.500 | 0.200 | 9 |" in line


def test_the_untrained_passes_are_valid_bank_files() -> None:
    """The passes kept aside in corpus/questions-next/ load as bank lines with known ids, so they
    can be moved into the bank and trained on at any time."""
    folder = BANK.parent / "questions-next"
    passes = {q.pass_ for q in load_bank(folder, set(CORPUS.by_id))}
    assert passes == {p.stem for p in folder.glob("*.jsonl")} and len(passes) >= 4
    turns = turns_folder(folder)
    assert {q.pass_ for q in load_bank(turns, set(CORPUS.by_id), turns=True)} == {p.stem for p in turns.glob("*.jsonl")}


def test_the_safety_route_passes_are_labelled_and_kept_out_of_the_bank(assistant) -> None:
    """Questions written for the safety route train that model only: each says whether it is a
    safety case, both kinds are there, and none of them is searched as a bank question."""
    route = load_bank(route_folder(BANK), set(CORPUS.by_id), safety_labels=True)
    assert sum(bool(q.safety) for q in route) >= 100 and sum(q.safety is False for q in route) >= 50
    assert not {q.pass_ for q in route} & {q.pass_ for q in BANK_QUESTIONS}
    assert assistant.retriever.index.bank.shape[0] == len(BANK_QUESTIONS)  # the searched bank vectors


#: passes written to score the safety route, each by another writer than the route pass of its kind
ROUTE_SCORING_PASSES = ("p38_leaving", "p42_adjustments", "p44_topic", "p80_safety_parts", "p81_safety_parts")


def test_passes_no_model_saw_cite_the_reporting_point_for_their_discrimination_cases(assistant) -> None:
    """The safety route generalises to ways of asking it was not trained on: of the discrimination
    situations of the passes kept aside to score it, at least 95% cite the reporting point (313
    of 320 with the shipped model; all 170 of the two passes whose cases also ask a second
    thing)."""
    from assistant.evaluation.passes import score_questions, trained_on
    from assistant.learn.bank import load_pass

    folder = BANK.parent / "questions-next"
    figures = []
    for name in ROUTE_SCORING_PASSES:
        path = folder / f"{name}.jsonl"
        assert not trained_on(path, BANK)
        figures.append(score_questions(assistant, load_pass(path, set(CORPUS.by_id)), name))
    cases = sum(f.safety for f in figures)
    assert cases >= 320
    assert sum(f.reporting_point for f in figures) >= 0.95 * cases, [f.line(False) for f in figures]


def test_a_pass_no_model_saw_gets_the_list_its_follow_ups_ask_for(assistant) -> None:
    """List choices generalise to follow-ups written by another writer: of the list requests of
    an untrained pass of list follow-ups answered as lists, at least 85% show the right list (at
    least half of its rows the labelled party's and phase's, covering at least half of those;
    95 of 105 with the shipped model, 73 of 102 before list choices read the message alone)."""
    from assistant.evaluation.passes import trained_on
    from assistant.learn.bank import load_pass

    path = turns_folder(BANK.parent / "questions-next") / "p72_list_turns.jsonl"
    assert not trained_on(path, BANK)
    lists = right = 0
    for q in load_pass(path, set(CORPUS.by_id)):
        chat = Conversation()
        assistant.ask(q.context, q.role, conversation=chat)
        a = assistant.ask(q.text, q.role, conversation=chat)
        if "list" not in a.reasons:
            continue
        lists += 1
        groups = checklist(CORPUS, AUDIENCE_ROLE[q.party], a.track)
        rows = set(sum(groups.values(), [])) if list_phase(q.phase) == "any" else set(groups.get(q.phase, []))
        shown = set(ids(a))
        right += 2 * len(shown & rows) >= len(shown) and 2 * len(shown & rows) >= len(rows) > 0
    assert lists >= 90 and right >= 0.85 * lists, (right, lists)


def test_a_pass_no_model_saw_gets_one_point_for_its_narrowing_follow_ups(assistant) -> None:
    """A follow-up asking one thing after a list request is answered as one point, not as a
    list again: on an untrained pass of such follow-ups by another writer, at most 5% are
    lists and at least 75% lead with a provision that answers them (2 and 98 of 120 with the
    shipped model; 19 and 89 before the follow-up model)."""
    from assistant.evaluation.passes import trained_on
    from assistant.learn.bank import load_pass

    path = turns_folder(BANK.parent / "questions-next") / "p74_narrowing.jsonl"
    assert not trained_on(path, BANK)
    questions = load_pass(path, set(CORPUS.by_id))
    lists = first = 0
    for q in questions:
        chat = Conversation()
        assistant.ask(q.context, q.role, conversation=chat)
        a = assistant.ask(q.text, q.role, conversation=chat)
        lists += "list" in a.reasons
        first += not a.abstained and bool(ids(a)) and ids(a)[0] in q.ids
    assert len(questions) >= 100 and lists <= 0.05 * len(questions) and first >= 0.75 * len(questions), (lists, first)


def test_a_safety_route_line_without_its_label_is_refused(tmp_path) -> None:
    (tmp_path / "p_route.jsonl").write_text(
        '{"q": "my boss makes jokes about my headscarf", "lang": "en", "role": "student", '
        '"kind": "answer", "ids": ["4.aanv.4"]}\n', encoding="utf-8")
    assert load_bank(tmp_path)[0].safety is None  # a bank pass may leave it open
    with pytest.raises(CorpusError, match="line 1.*safety"):
        load_bank(tmp_path, safety_labels=True)


@pytest.mark.parametrize("folder", [route_folder, turns_folder, short_folder, lists_folder, parts_folder])
def test_the_bank_hash_covers_the_side_passes(tmp_path, folder) -> None:  # type: ignore[no-untyped-def]
    """A model trained before a safety-route or chat-turns pass changed is stale, like one
    trained on another bank."""
    line = '{"q": "x", "lang": "en", "role": null, "kind": "unrelated", "safety": false}\n'
    (tmp_path / "p1.jsonl").write_text(line, encoding="utf-8")
    before = bank_hash(tmp_path)
    folder(tmp_path).mkdir()
    (folder(tmp_path) / "p2.jsonl").write_text(line, encoding="utf-8")
    with_pass = bank_hash(tmp_path)
    (folder(tmp_path) / "p2.jsonl").write_text(line.replace('"x"', '"y"'), encoding="utf-8")
    assert len({before, with_pass, bank_hash(tmp_path)}) == 3


def test_a_chat_turn_needs_the_message_before_it(tmp_path) -> None:
    """A turns line says whether it leans on the message before it (`context`) or was only
    asked after it (`after`): exactly one of the two."""
    line = {"q": "and for dual?", "lang": "en", "role": "student", "kind": "answer", "ids": ["3B.1"],
            "track": None, "safety": False}
    for extra in ({}, {"context": "who visits me?", "after": "who visits me?"}):
        (tmp_path / "p.jsonl").write_text(json.dumps(line | extra), encoding="utf-8")
        with pytest.raises(CorpusError, match="line 1.*message before it"):
            load_bank(tmp_path, turns=True)
    (tmp_path / "p.jsonl").write_text(json.dumps(line | {"after": "who visits me?"}), encoding="utf-8")
    turn = load_bank(tmp_path, turns=True)[0]
    assert turn.after == "who visits me?" and turn.query == "and for dual?"


def test_the_turns_passes_are_kept_out_of_the_bank(assistant) -> None:
    turns = load_bank(turns_folder(BANK), set(CORPUS.by_id), turns=True)
    assert sum(q.context is not None for q in turns) >= 100 and sum(q.after is not None for q in turns) >= 100
    assert not {q.pass_ for q in turns} & {q.pass_ for q in BANK_QUESTIONS}
    assert assistant.retriever.index.bank.shape[0] == len(BANK_QUESTIONS)


def test_the_open_part_passes_hold_both_kinds_and_are_kept_out_of_the_bank(assistant) -> None:
    """The open-part passes are answered questions with and without a matter the code leaves
    open (a topic of `silent_topics.yaml`), no discrimination case among them, and train the
    open-part model only: the shipped model has one, and none of their passes is searched."""
    parts = load_bank(parts_folder(BANK), set(CORPUS.by_id))
    topics = {t.id for t in CORPUS.silent_topics}
    assert all(q.kind == "answer" and q.ids and q.safety is False for q in parts)
    assert sum(q.topic in topics for q in parts) >= 200 and sum(q.topic is None for q in parts) >= 100
    assert all(q.topic is None or q.topic in topics for q in parts)
    assert not {q.pass_ for q in parts} & {q.pass_ for q in BANK_QUESTIONS}
    assert assistant.retriever.model.open_part is not None
    assert assistant.retriever.index.bank.shape[0] == len(BANK_QUESTIONS)


def test_the_short_message_passes_are_short_and_kept_out_of_the_bank(assistant) -> None:
    short = load_bank(short_folder(BANK), set(CORPUS.by_id))
    limit = assistant.retriever.model.thresholds["short_words"]
    assert {q.kind for q in short} >= {"answer", "out_of_scope", "unrelated"} and len({q.pass_ for q in short}) >= 2
    assert all(1 <= word_count(q.query) <= limit for q in short)
    assert not {q.pass_ for q in short} & {q.pass_ for q in BANK_QUESTIONS}
    assert assistant.retriever.index.bank.shape[0] == len(BANK_QUESTIONS)


def _constant(kind: str, features: int) -> Linear:
    """A decision that always says `kind`, whatever it reads."""
    b = np.where(np.array(KINDS) == kind, 10.0, -10.0).astype(np.float32)
    return Linear(np.zeros((features, len(KINDS)), np.float32), b, np.zeros(features, np.float32),
                  np.ones(features, np.float32))


def test_a_short_message_is_decided_by_the_short_message_decision(tmp_path) -> None:
    """Up to `short_words` words the short-message decision and its threshold decide; above,
    the general ones. Both survive saving."""
    shipped = LearnedModel.load(shipped_path("use-multilingual"))
    n = shipped.decide.W.shape[0]
    model = LearnedModel(shipped.cls, shipped.ranker, _constant("answer", n), shipped.safety, shipped.topic,
                         None, {**shipped.thresholds, "short_words": 4, "answer_min": 0.2, "answer_min_short": 0.1},
                         decide_short=_constant("unrelated", n))
    model.save(tmp_path / "m.npz")
    x = np.zeros((1, n), np.float32)
    for m in (model, LearnedModel.load(tmp_path / "m.npz")):
        for words, kind, threshold in ((1, "unrelated", 0.1), (4, "unrelated", 0.1), (5, "answer", 0.2)):
            p, t = m.decision(x, words)
            assert KINDS[int(p.argmax())] == kind and t == pytest.approx(threshold)
    model.decide_short = None
    assert KINDS[int(model.decision(x, 1)[0].argmax())] == "answer"


def test_a_short_message_is_scored_by_the_short_message_safety_route(tmp_path) -> None:
    """Up to `short_words` words the short-message safety model and its thresholds score the
    question; above, the general ones. Both survive saving."""
    shipped = LearnedModel.load(shipped_path("use-multilingual"))
    n = shipped.safety.W.shape[0]

    def constant(logit: float) -> Linear:
        return Linear(np.zeros((n, 1), np.float32), np.array([logit], np.float32), np.zeros(n, np.float32),
                      np.ones(n, np.float32))

    thresholds = {**shipped.thresholds, "short_words": 4, "safety_word_weight": 0.0, "safety_min": 0.6,
                  "safety_words_min": 0.5, "safety_min_short": 0.3, "safety_words_min_short": 0.2}
    model = LearnedModel(shipped.cls, shipped.ranker, shipped.decide, constant(-5.0), shipped.topic, None,
                         thresholds, safety_short=constant(5.0))
    model.save(tmp_path / "m.npz")
    x = np.zeros((1, n), np.float32)
    for m in (model, LearnedModel.load(tmp_path / "m.npz")):
        short, long = m.safety_score(x, "racism", 4), m.safety_score(x, "racism", 5)
        assert short.alone > 0.99 and (short.alone_min, short.blended_min) == pytest.approx((0.3, 0.2))
        assert long.alone < 0.01 and (long.alone_min, long.blended_min) == pytest.approx((0.6, 0.5))
    model.safety_short = None
    assert model.safety_score(x, "racism", 1).alone < 0.01


def test_the_shipped_short_safety_route_finds_more_than_the_general_one(assistant) -> None:
    """Each short-message pass with safety lines, scored by a short safety model fitted without
    it, finds at least as many of them as the general route on the same lines, and more in all."""
    figures = {name: m for name, m in assistant.retriever.model.meta["figures"].items() if "general_safety_recall" in m}
    passes = [m for name, m in figures.items() if "(short)" in name and m["n_safety"]]
    assert len(passes) >= 3
    assert all(m["safety_recall"] >= m["general_safety_recall"] for m in passes)
    pooled = next(m for name, m in figures.items() if name.startswith("all"))
    assert pooled["safety_recall"] > pooled["general_safety_recall"]


def test_the_topic_blends_the_word_model_at_its_weight_and_survives_saving(tmp_path) -> None:
    """The topic probabilities are the vector's model and the word model blended at
    `topic_word_weight`: a word model sure of another topic moves the first topic only when its
    weight is high enough; weight 0, or no word model, is the vector's model alone."""
    from assistant.learn.words import WordClasses

    shipped = LearnedModel.load(shipped_path("use-multilingual"))
    assert shipped.topic_words is not None and shipped.thresholds["topic_word_weight"] > 0
    n_topics = shipped.topic.W.shape[1]
    q = np.zeros((1, shipped.topic.W.shape[0]), np.float32)
    first = int(shipped.topic.proba(q)[0].argmax())
    other = (first + 1) % n_topics
    coef = np.zeros((1, n_topics), np.float32)
    bias = np.where(np.arange(n_topics) == other, 20.0, 0.0)  # sure of `other` whatever the words
    shipped.topic_words = WordClasses(np.array(["stage"]), np.array([1.0]), coef, bias)
    for weight, expected in ((0.0, first), (0.9, other)):
        shipped.thresholds["topic_word_weight"] = weight
        shipped.save(tmp_path / "m.npz")
        for m in (shipped, LearnedModel.load(tmp_path / "m.npz")):
            p, words = m.topic_proba(q, "mag ik stage lopen")
            assert p.shape == (1, n_topics) and np.isclose(p.sum(), 1.0, atol=1e-5)
            assert int(p[0].argmax()) == expected and int(words[0].argmax()) == other
    shipped.topic_words = None
    blend, words = shipped.topic_proba(q, "stage")
    assert np.allclose(blend, shipped.topic.proba(q)) and np.allclose(words, blend)


def test_the_party_and_phase_models_survive_saving(tmp_path) -> None:
    shipped = LearnedModel.load(shipped_path("use-multilingual"))
    assert shipped.party is not None and shipped.phase is not None
    n = shipped.party.W.shape[0]
    b = np.array([-5.0, 5.0, -5.0], np.float32)  # always the company
    shipped.party = Linear(np.zeros((n, 3), np.float32), b, np.zeros(n, np.float32), np.ones(n, np.float32))
    b = np.array([-5.0, -5.0, 5.0, -5.0], np.float32)  # always discrimination
    shipped.phase = Linear(np.zeros((n, 4), np.float32), b, np.zeros(n, np.float32), np.ones(n, np.float32))
    assert shipped.party_words is not None and shipped.phase_words is not None
    # the word models always say the school and before, and weigh 0.4 in the blend
    shipped.party_words = replace(shipped.party_words, coef=np.zeros_like(shipped.party_words.coef),
                                  bias=np.array([-5.0, -5.0, 5.0]))
    shipped.phase_words = replace(shipped.phase_words, coef=np.zeros_like(shipped.phase_words.coef),
                                  bias=np.array([5.0, -5.0, -5.0, -5.0]))
    shipped.thresholds |= {"party_word_weight": 0.4, "phase_word_weight": 0.4}
    shipped.save(tmp_path / "m.npz")
    again = LearnedModel.load(tmp_path / "m.npz")
    x = np.zeros((1, n), np.float32)
    assert again.party_of(x, "stage") == AUDIENCES[1] == "company"
    assert again.phase_of(x, "stage") == "discrimination"
    again.thresholds |= {"party_word_weight": 0.6, "phase_word_weight": 0.6}  # now the words outweigh
    assert (again.party_of(x, "stage"), again.phase_of(x, "stage")) == ("school", "before")
    again.party_words = again.phase_words = None  # the vectors' models alone
    assert (again.party_of(x, "stage"), again.phase_of(x, "stage")) == ("company", "discrimination")
    again.party = again.phase = None
    assert again.party_of(x, "stage") is None
    assert again.phase_of(x, "stage") is None


def test_the_shipped_short_decision_refuses_fewer_short_messages_than_the_general_one(assistant) -> None:
    """Each short-message pass, scored by a short decision fitted without it, loses fewer
    answerable messages, and calls fewer open questions "not about the code", than the general
    decision does on the same lines."""
    figures = [m for name, m in assistant.retriever.model.meta["figures"].items()
               if "(short)" in name and "general_false_abstention" in m]
    assert len(figures) >= 2
    assert all(m["false_abstention"] < m["general_false_abstention"] for m in figures)
    assert all(m["as_unrelated"] <= m["general_as_unrelated"] for m in figures)


def test_the_short_messages_the_code_answers_are_answered(assistant) -> None:
    """The shipped model answers the short-message passes' answerable lines (at most one in a
    hundred refused) and every safety line among them cites the reporting point."""
    short = [q for q in load_bank(short_folder(BANK), set(CORPUS.by_id)) if q.kind in ANSWERED]
    answers = [(q, assistant.ask(q.query, q.role or "student")) for q in short]
    refused = [q.text for q, a in answers if a.abstained]
    assert len(refused) <= len(short) / 100, refused
    assert all("4.aanv.4" in ids(a) for q, a in answers if q.safety)


@pytest.mark.parametrize("follows", [0.9, 0.1])
def test_a_chat_message_is_read_as_the_reading_model_says(assistant, monkeypatch, follows: float) -> None:
    chat = Conversation()
    assistant.ask("Who pays for my certificate of conduct?", conversation=chat)
    seen = []

    def reading_model(alone, joined, opening) -> float:  # type: ignore[no-untyped-def]
        seen.append((alone.reading.shape, joined.reading.shape, opening))
        return follows

    monkeypatch.setattr(assistant.retriever, "follows", reading_model)
    a = assistant.ask("And what if they refuse?", conversation=chat)
    assert len(seen) == 1 and seen[0][0] == seen[0][1] and seen[0][2] is True
    if follows >= 0.5:
        assert a.resolved_question == "Who pays for my certificate of conduct? And what if they refuse?"
    else:
        assert a.resolved_question is None
    assert chat.last is not None and chat.last.resolved == (a.resolved_question or a.question)


def test_a_long_message_and_a_first_message_are_read_alone(assistant, monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(assistant.retriever, "follows", lambda a, b, c: calls.append(1) or 1.0)
    chat = Conversation()
    first = assistant.ask("and for dual students?", conversation=chat)
    long = "and " + " ".join(["werkbegeleider"] * MAX_FOLLOW_UP_WORDS)
    later = assistant.ask(long, conversation=chat)
    assert first.resolved_question is None and later.resolved_question is None and calls == []


def test_the_shipped_reading_model_reads_chat_turns_better_than_the_lexicon(assistant) -> None:
    """Each turns pass, read by a reading model fitted on the others, is read right more often
    than by the lexicon's follow-up openings, and all of them together are answered right more
    often (a pass of a style the others lack, chats opening with a discrimination case, is
    answered right less often by a model that never saw that style; the README gives it)."""
    figures = [m for m in assistant.retriever.model.meta["figures"].values() if "reading_accuracy" in m]
    assert len(figures) >= 2
    assert all(m["reading_accuracy"] > m["lexicon_accuracy"] for m in figures)

    def pooled(key: str) -> float:
        return sum(m[key] * m["n"] for m in figures) / sum(m["n"] for m in figures)

    assert pooled("answers_right") > pooled("lexicon_answers_right")


def _one_point(offer: float | None, answer: float = 0.7, list_: float = 0.3, **kw: object) -> object:
    """Findings the safety route does not take, with the decision's answer and list shares and
    the list-offer model's probability."""
    from assistant.search.retrieve import Findings

    decision = {k: 0.0 for k in KINDS} | {"answer": answer, "list": list_}
    return replace(Findings([Hit("3B.vd.4", 0.9)], decision, SafetyScore(0.0, 0.0, 0.6, 0.5), None, 0.5,
                            party="company", phase="before", list_offer=offer), **kw)


@pytest.mark.parametrize(("offer", "kw", "offered"), [
    (0.8, {}, True),  # one point, the list-offer model at the threshold or above: offered
    (0.79, {}, False),  # below it
    (None, {}, False),  # not asked (a list, a refusal) or no such model
    (0.9, {"same_as": ("answer", False)}, False),  # a bank question's label says one point
    (0.9, {"list_share": 0.2}, False),  # a follow-up: its own list model has chosen
])
def test_a_one_point_answer_offers_the_list_when_the_list_offer_model_reaches_its_threshold(
        offer: float | None, kw: dict, offered: bool) -> None:
    """The offer follows the learned threshold on the list-offer model; it never turns a refusal
    into an answer or a list into one point, and a model without the threshold offers nothing."""
    from assistant.answering.abstain import decide

    cut = {"answer_min": 0.2, "list_offer_min": 0.8}
    verdict = decide(_one_point(offer, **kw), CORPUS, cut)
    assert verdict.offer_list is offered and not verdict.abstain and "list" not in verdict.reasons
    if offered:
        assert (verdict.party, verdict.phase) == ("company", "before")
    assert not decide(_one_point(0.9), CORPUS, {"answer_min": 0.2}).offer_list
    assert decide(_one_point(0.9, 0.07, 0.03), CORPUS, cut).abstain  # a refusal stays one
    assert "list" in decide(_one_point(0.9, 0.3, 0.7), CORPUS, cut).reasons  # a list stays one


@pytest.mark.parametrize(("offer", "answer", "list_", "offered"), [
    (None, 0.3, 0.7, True),  # the decision reads a list, the route answers: offered
    (0.9, 0.7, 0.3, True),  # one point, the list-offer model reads a list: offered
    (0.5, 0.7, 0.3, False),  # neither
    (None, 0.05, 0.1, False),  # the decision alone would refuse it: the route answers, no offer
])
def test_a_safety_route_answer_offers_the_list_a_list_request_would_have_got(
        offer: float | None, answer: float, list_: float, offered: bool) -> None:
    """A question the safety route answers keeps the route, and offers the list when the
    decision or the list-offer model reads a request for one ("what must we do about
    discrimination?"), so the route does not hide that list."""
    from assistant.answering.abstain import decide

    found = replace(_one_point(offer, answer, list_), safety=SafetyScore(0.9, 0.9, 0.6, 0.5))
    verdict = decide(found, CORPUS, {"answer_min": 0.2, "list_offer_min": 0.8})
    assert verdict.reasons == ["safety"] and not verdict.abstain
    assert verdict.offer_list is offered


def test_only_an_answer_to_one_point_asks_the_list_offer_model(assistant) -> None:
    """The list-offer model is asked only when the decision answers one point: a refused
    question and a list request carry no list-offer probability."""
    def examine(text: str, role: str):  # type: ignore[no-untyped-def]
        return assistant.retriever.with_list_offer(assistant.retriever.examine(text, role), text, role)

    one = examine("moet het bedrijf mijn reiskosten betalen?", "student")
    refused = examine("wat is het recept voor pannenkoeken?", "student")
    whole = examine("Wat moet het stagebedrijf allemaal doen tijdens de stage? Zet alles op een rij.", "company")
    assert one.list_offer is not None and 0.0 <= one.list_offer <= 1.0
    assert refused.list_offer is None and whole.list_offer is None
    assert whole.decision["list"] > whole.decision["answer"]


@pytest.mark.parametrize("role", ["student", "company", "staff"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_list_offer_names_the_list_in_the_askers_voice_and_cites_nothing(role: str, lang: str) -> None:
    """The offer comes last, names the party and phase of the list as the list itself would,
    and cites nothing; on the safety route it follows the route's own text, which it leaves as
    it is."""
    from assistant.answering.answer import list_offer

    hits = [Hit("3B.vd.4", 0.9)]
    plain = compose("q", lang, role, hits, Verdict(False), CORPUS, None)
    offered = compose("q", lang, role, hits, Verdict(False, offer_list=True, party="company", phase="during"),
                      CORPUS, None)
    note = list_offer(role, lang, "company", "during")
    intro = TEXTS[lang]["list_intro"][role]["company"].format(phase=TEXTS[lang]["list_phase"]["during"])
    assert intro[1:].rstrip(":") in note and TEXTS[lang]["list_example"]["company"].split("{")[0] in note
    assert offered.notes[-1] == note and note not in plain.answer
    assert ids(offered) == ids(plain) and not re.search(r"\[\d+\]", note)
    route = Verdict(False, ["safety"])
    routed = compose("q", lang, role, hits, route, CORPUS, None)
    routed_offer = compose("q", lang, role, hits, replace(route, offer_list=True, party="company", phase="during"),
                           CORPUS, None)
    assert routed_offer.notes[-1] == note and note not in routed.answer
    assert routed_offer.notes[:-1] == routed.notes and ids(routed_offer) == ids(routed)


def test_the_list_offers_example_is_answered_as_the_list_it_names(assistant, monkeypatch) -> None:
    """Each example request the offer gives, for every asker, party and phase, is answered as
    that party's list for that phase, in the offer's language."""
    import assistant.assistant as module
    from assistant.answering.answer import list_offer

    seen: list[Verdict] = []
    real = module.compose
    monkeypatch.setattr(module, "compose", lambda *a: seen.append(a[4]) or real(*a))  # the verdict composed
    wrong = []
    for lang in ("nl", "en"):
        quote = ("„", "”") if lang == "nl" else ("“", "”")
        for role in ("student", "company", "staff"):
            for party in AUDIENCES:
                for phase in LIST_PHASES:
                    example = list_offer(role, lang, party, phase).split(quote[0])[1].removesuffix(quote[1])
                    answer = assistant.ask(example, role, llm=False)
                    got = (answer.language, "list" in answer.reasons, seen[-1].party, seen[-1].phase)
                    if got != (lang, True, party, phase):
                        wrong.append((role, example, got))
    assert not wrong, wrong


def test_the_list_offer_threshold_is_the_lowest_that_offers_few_one_point_questions_a_list() -> None:
    """Of 50 one-point questions, one may reach the threshold (2%): it lands on the grid just
    above the second-highest of them; with none above the grid's highest, that is taken."""
    from assistant.training.train import LIST_OFFER_GRID, offer_threshold

    prob = np.array([0.95, 0.6] + [0.1] * 48 + [0.9, 0.7, 0.65, 0.3])
    is_list = np.arange(len(prob)) >= 50
    assert offer_threshold(prob, is_list) == pytest.approx(0.61)
    assert offer_threshold(np.full(6, 1.0), np.zeros(6, dtype=bool)) == LIST_OFFER_GRID[-1]


def test_the_list_offer_word_weight_finds_the_most_list_requests_at_that_rate() -> None:
    """The vector's model alone separates nothing here and the words' model separates all, so
    the word model's weight is the lowest that finds every list request (ties keep the lower
    weight) and the threshold is that blend's."""
    from assistant.training.train import choose_offer_weight, offer_threshold

    is_list = np.arange(100) >= 80
    vector = np.full(100, 0.5)
    words = np.where(is_list, 0.9, 0.1)
    w, t = choose_offer_weight(vector, words, is_list)
    assert w == pytest.approx(0.3)
    blend = (1 - w) * vector + w * words
    assert t == offer_threshold(blend, is_list) and (blend[is_list] >= t).all() and not (blend[~is_list] >= t).any()


def test_the_list_offer_model_survives_saving_and_blends_its_word_model(tmp_path) -> None:
    """The list-offer model and its word model are saved and loaded; the probability blends the
    two at the trained weight, and a model without the part offers nothing (None)."""
    from assistant.learn.words import WordModel

    shipped = LearnedModel.load(shipped_path("use-multilingual"))
    assert shipped.list_offer is not None and shipped.list_offer_words is not None
    n = shipped.list_offer.W.shape[0]
    shipped.list_offer = Linear(np.zeros((n, 1), np.float32), np.array([-5.0], np.float32),
                                np.zeros(n, np.float32), np.ones(n, np.float32))  # the vectors: never a list
    shipped.list_offer_words = WordModel(np.array(["lijst"]), np.array([1.0]), np.array([0.0]), 5.0)  # the words: always
    shipped.thresholds["list_offer_word_weight"] = 0.5
    shipped.save(tmp_path / "m.npz")
    again = LearnedModel.load(tmp_path / "m.npz")
    x = np.zeros((1, n), np.float32)
    vector, words = 1 / (1 + np.exp(5.0)), 1 / (1 + np.exp(-5.0))
    assert again.list_offer_of(x, "hele lijst") == pytest.approx(0.5 * vector + 0.5 * words, abs=1e-6)
    again.thresholds["list_offer_word_weight"] = 0.0
    assert again.list_offer_of(x, "hele lijst") == pytest.approx(vector, abs=1e-6)
    again.list_offer = None
    assert again.list_offer_of(x, "hele lijst") is None
