"""The id grammar agrees with the parser, and names in text are found longest first."""

from __future__ import annotations

import pytest

from assistant.corpus import ids
from assistant.corpus.corpus import load_corpus

CORPUS = load_corpus()
IDS = tuple(CORPUS.by_id)


def test_every_parsed_id_has_the_shape_the_grammar_recognises() -> None:
    for pid in IDS:
        if ids.is_structured(pid) and not pid.replace(".", "").isdigit():
            assert ids.ID_SHAPE.fullmatch(pid.lower()), pid


def test_amounts_and_article_numbers_of_other_laws_are_not_ids() -> None:
    assert ids.ID_SHAPE.search("een vergoeding van 1.000 euro") is None
    assert ids.PART_NAME.search("artikel 7.7 whw") is None
    assert ids.PART_NAME.search("wat staat in artikel 4?").group(1) == "4"


def test_the_longest_id_is_found_first_and_each_once() -> None:
    text = "Zie 3B.vd.2a en ook 3B.vd.2, en nog eens 3B.vd.2a."
    assert ids.mentioned(text, IDS) == ["3B.vd.2a", "3B.vd.2"]
    assert ids.first_mentioned(text.lower(), IDS) == "3B.vd.2a"
    assert ids.first_mentioned("niets hier", IDS) is None


def test_an_id_written_with_spaces_is_found_only_where_it_is_distinctive() -> None:
    assert ids.first_mentioned("3b vd 2a", IDS) == "3B.vd.2a"
    assert ids.first_mentioned("wat zegt 4 aanv 4 precies?", IDS) == "4.aanv.4"
    assert ids.first_mentioned("3b.vd 4 reiskosten", IDS) == "3B.vd.4"
    assert ids.first_mentioned("ik heb 2 1 vragen", IDS) is None  # '2.1' is not meant by two numbers


def test_ids_are_blanked_out_of_text_with_section_names() -> None:
    out = ids.without_ids("Volgens 3B.vd.4 en 3B geldt dit.", IDS)
    assert "3B" not in out and "geldt dit" in out


def test_the_document_parts_come_from_the_parsed_corpus() -> None:
    assert ids.parts(IDS) == ["pre", "1", "2", "3A", "3B", "4", "slot", "fn"]
    assert ids.footnote_numbers(IDS) == [1, 2, 3, 4, 5]


def test_a_missing_part_is_named_with_the_parts_that_exist(assistant) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.ask("What does 3B.vd.9 say?")
    assert answer.abstained and "no_such_provision" in answer.reasons
    assert "“3B.vd.9”" in answer.answer and "footnotes 1–5" in answer.answer and not answer.citations
    assert "Perhaps you meant" not in answer.answer  # 3B has no rule numbered 9 to point to


@pytest.mark.parametrize(("typed", "meant"), [
    ("4.5", ["4.aanv.5"]),
    ("3B.dual.1", ["3B.duaal.1", "3B.vd.1"]),
    ("3B.vd4?", ["3B.vd.4", "3B.4"]),
])
def test_a_mistyped_id_on_its_own_is_named_with_the_rules_it_may_mean(assistant, typed: str,  # type: ignore[no-untyped-def]
                                                                      meant: list[str]) -> None:
    """An id-shaped message that names no provision is not searched as words (which took '4.5' for
    an unrelated question): the answer says the part does not exist and suggests ids with the same
    section and numbers."""
    answer = assistant.ask(typed, lang="en")
    assert answer.abstained and answer.reasons == ["no_such_provision"] and not answer.citations
    assert f"“{typed.rstrip('?')}”" in answer.answer
    assert answer.answer.endswith("Perhaps you meant " + " or ".join(meant) + ".")


def test_no_suggestion_changes_a_section_or_a_number() -> None:
    assert ids.closest("3B.vd.9", IDS) == [] and ids.closest("3A.12", IDS) == []
    assert ids.closest("4.5", IDS) == ["4.aanv.5"]
