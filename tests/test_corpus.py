"""The curated layer: complete, consistent with the parse, and flagged when stale."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from assistant.corpus.corpus import CorpusError, load_corpus, load_curation
from assistant.domain import AUDIENCES, PHASES, TRACKS

CORPUS = load_corpus()


def test_every_provision_has_a_current_curated_entry_and_no_entry_is_orphaned() -> None:
    assert CORPUS.problems() == []
    assert set(CORPUS.curation) == set(CORPUS.by_id)


def test_curated_reference_copy_matches_the_parsed_dutch_text() -> None:
    for p in CORPUS.provisions:
        assert CORPUS.curation[p.id].nl == p.text, p.id


def test_curated_fields_are_complete_and_well_formed() -> None:
    for pid, c in CORPUS.curation.items():
        assert c.en and c.summary_nl and c.summary_en and c.title_nl and c.title_en, pid
        assert set(c.audiences) <= set(AUDIENCES) and c.audiences, pid
        assert c.track in TRACKS and c.phase in PHASES, pid
        # the curated track must agree with the heading the provision stands under; a
        # definition stands under no track heading but may define a term of one track
        p = CORPUS.by_id[pid]
        assert c.track == p.track or (p.kind == "definition" and p.track == "all"), pid


def test_a_changed_source_text_flags_the_entry_as_stale(tmp_path) -> None:
    src = tmp_path / "code.txt"
    src.write_text(CORPUS_SOURCE.replace("de kosten voor een VOG", "de kosten voor een verklaring"), encoding="utf-8")
    changed = load_corpus(source=src)
    assert changed.problems() == ["3B.vd.4: stale curated entry (written for other Dutch text)"]


def test_missing_and_orphaned_entries_are_reported(tmp_path) -> None:
    data = yaml.safe_load(CORPUS.files.curated.read_text(encoding="utf-8"))
    data["9Z.1"] = data.pop("2.3")
    path = tmp_path / "curated.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    corpus = dataclasses.replace(CORPUS, curation=load_curation(path))
    assert set(corpus.problems()) == {"2.3: no curated entry",
                                      "9Z.1: curated entry for a provision that does not exist"}


def test_a_malformed_entry_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "curated.yaml"
    path.write_text("2.1:\n  nl: x\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="2.1"):
        load_curation(path)


from assistant.corpus.files import CorpusFiles, default_corpus_dir  # noqa: E402

SOURCE = CorpusFiles(default_corpus_dir()).source

CORPUS_SOURCE = SOURCE.read_text(encoding="utf-8")
