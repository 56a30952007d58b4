"""Next steps: where the asker can turn when the rule an answer leads with is not kept."""

from __future__ import annotations

import dataclasses
import re

import pytest

from assistant.answering.abstain import Verdict
from assistant.answering.answer import compose
from assistant.corpus.corpus import NextStep, load_corpus, load_next_steps
from assistant.errors import CorpusError
from assistant.search.retrieve import Hit

CORPUS = load_corpus()
#: a provision that leads no next step, to stand second behind the one that does
PLAIN = next(p.id for p in CORPUS.provisions
             if p.track == "all" and all(p.id not in (*s.after, s.cite) for s in CORPUS.next_steps))


def _answer(lead: str, role: str, lang: str, verdict: Verdict | None = None, named: bool = False):  # type: ignore[no-untyped-def]
    hits = [Hit(lead, 0.9), Hit(PLAIN, 0.8)]
    return compose("question", lang, role, hits, verdict or Verdict(False), CORPUS, None, 0.05, 0.6, named=named)


def _cases() -> list[tuple[NextStep, str, str, str]]:
    return [(step, lead, role, lang) for step in CORPUS.next_steps for lead in step.after
            for role, texts in step.notes.items() for lang in texts]


def test_the_next_steps_are_loaded_and_valid() -> None:
    assert CORPUS.next_steps and CORPUS.problems() == []
    assert all(step.notes for step in CORPUS.next_steps)


@pytest.mark.parametrize(("step", "lead", "role", "lang"), _cases(),
                         ids=lambda v: v.id if isinstance(v, NextStep) else str(v))
def test_an_answer_led_by_the_rule_shows_the_step_with_its_citation(step: NextStep, lead: str, role: str,
                                                                    lang: str) -> None:
    a = _answer(lead, role, lang)
    cited = [c.id for c in a.citations]
    assert cited[0] == lead and len(cited) == len(set(cited))
    parts = re.split(r"\{cite:[^}]+\}", step.note(role, lang) or "")
    assert all(part in a.answer for part in parts) and "{cite:" not in a.answer
    if step.cite:
        # the note points at the step's provision by its number among the citations, which quote it
        assert f"{parts[0]} [{cited.index(step.cite) + 1}]" in a.answer
        assert CORPUS.by_id[step.cite].text in a.answer
        # the step is no part of the answer's own lead: its provision's summary is not added there
        if step.cite not in (lead, PLAIN):
            assert CORPUS.summary(step.cite, role, lang) not in a.lead


@pytest.mark.parametrize("verdict", [Verdict(False, ["safety"]), Verdict(False, ["safety_also"]),
                                     Verdict(False, ["list"]), Verdict(True, ["not_covered"])],
                         ids=lambda v: v.reasons[0])
def test_no_step_with_the_safety_route_a_list_or_a_refusal(verdict: Verdict) -> None:
    step, lead, role, lang = _cases()[0]
    a = _answer(lead, role, lang, verdict)
    assert re.split(r"\{cite:[^}]+\}", step.note(role, lang) or "")[0] not in a.answer


def test_no_step_for_a_named_provision_a_rule_cited_second_or_a_role_without_a_note() -> None:
    step, lead, role, lang = _cases()[0]
    opening = re.split(r"\{cite:[^}]+\}", step.note(role, lang) or "")[0]
    assert opening not in _answer(lead, role, lang, named=True).answer
    second = compose("question", lang, role, [Hit(PLAIN, 0.9), Hit(lead, 0.8)], Verdict(False), CORPUS, None,
                     0.05, 0.6)
    assert lead in [c.id for c in second.citations] and opening not in second.answer
    silent = dataclasses.replace(CORPUS, next_steps=[dataclasses.replace(step, notes={})])
    a = compose("question", lang, role, [Hit(lead, 0.9)], Verdict(False), silent, None, 0.05, 0.6)
    assert opening not in a.answer and step.cite not in [c.id for c in a.citations][1:]


def test_a_bad_step_is_reported_by_the_corpus_check() -> None:
    bad = [NextStep("x", ("3B.99", "3B.vd.2"), "4.aanv.4",
                    {"student": {"nl": "zonder verwijzing", "en": "[{cite:4.aanv.4}]"}})]
    problems = dataclasses.replace(CORPUS, next_steps=bad).problems()
    assert problems == ["next step x: unknown provision ids 3B.99",
                        "next step x: 3B.vd.2 never leads an answer (name its items)",
                        "next step x: the student nl note must mark its citation {cite:4.aanv.4} exactly when it has one"]


@pytest.mark.parametrize("text", [
    "- id: x\n  after: [3B.5]\n  cite: null\n",  # speaks to no role
    "- id: x\n  after: [3B.5]\n  cite: null\n  student: {nl: a}\n",  # no English note
    "- id: x\n  after: [3B.5]\n  student: {nl: a, en: b}\n",  # no cite
    "just text\n",
])
def test_a_malformed_next_steps_file_is_a_clear_error(tmp_path, text: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "next_steps.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError, match="next_steps.yaml"):
        load_next_steps(path)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_step_that_repeats_a_cited_provision_is_left_out(lang: str) -> None:
    """The improper-use step says what the reporting point's own sentence says: shown after 3B.5
    when the answer does not cite the reporting point, left out when it does."""
    step = next(s for s in CORPUS.next_steps if s.unless_cited)
    opening = re.split(r"\{cite:[^}]+\}", step.note("student", lang) or "")[0]
    lead = step.after[0]
    alone = compose("q", lang, "student", [Hit(lead, 0.9), Hit(PLAIN, 0.8)], Verdict(False), CORPUS, None, 0.05, 0.6)
    both = compose("q", lang, "student", [Hit(lead, 0.9), Hit(step.cite, 0.8)], Verdict(False), CORPUS, None,
                   0.05, 0.6)
    assert opening in alone.answer and step.cite in [c.id for c in alone.citations]
    assert [c.id for c in both.citations][:2] == [lead, step.cite] and opening not in both.answer


def test_a_rule_leads_at_most_one_step_per_asker() -> None:
    """Two notes after one rule would send the asker two ways at once ("raise it with your
    lecturer" beside "if your lecturer does not help"): a rule binding two parties has one step
    that says where to turn for each."""
    seen: dict[tuple[str, str], str] = {}
    for step in CORPUS.next_steps:
        if step.unless_cited:  # says only what a provision says, beside the other step
            continue
        for lead in step.after:
            for role in step.notes:
                assert (lead, role) not in seen, f"{lead}: {seen[(lead, role)]} and {step.id} for a {role}"
                seen[(lead, role)] = step.id
