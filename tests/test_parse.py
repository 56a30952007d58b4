"""The parser: structure, ids, verbatim text and full coverage of the source."""

from __future__ import annotations

import re

import pytest

from assistant.corpus.files import CorpusFiles, default_corpus_dir
from assistant.corpus.parse import ParseError, body_text, clean, parse, split_blocks

SOURCE = CorpusFiles(default_corpus_dir()).source
RAW = SOURCE.read_text(encoding="utf-8")
PROVISIONS = parse(RAW)
BY_ID = {p.id: p for p in PROVISIONS}

EXPECTED_IDS = (
    ["pre.doel", "pre.naleving", "pre.reikwijdte", "pre.afwijken"]
    + ["def.stagecode", "def.stage", "def.werkplekleren", "def.werkbegeleider"]
    + ["2.intro", "2.1", "2.2", "2.3", "2.4", "3A.intro"]
    + [f"3A.{i}" for i in range(1, 12)]
    + ["3A.vd", "3A.duaal", "3B.intro", "3B.1", "3B.2", "3B.3", "3B.4", "3B.5"]
    + ["3B.vd.1", "3B.vd.2", "3B.vd.2a", "3B.vd.2b", "3B.vd.3", "3B.vd.4", "3B.vd.5", "3B.duaal.1"]
    + ["4.intro", "4.amb.1", "4.amb.2", "4.amb.3", "4.amb.4", "4.aanv.intro"]
    + [f"4.aanv.{i}" for i in range(1, 9)]
    + ["slot", "slot.ondertekend", "fn.1", "fn.2", "fn.3", "fn.4", "fn.5"]
)


def test_every_provision_gets_its_structural_id_in_document_order() -> None:
    assert [p.id for p in PROVISIONS] == EXPECTED_IDS


def test_parsing_is_deterministic() -> None:
    assert parse(RAW) == PROVISIONS


def test_ids_do_not_depend_on_the_wording() -> None:
    changed = RAW.replace("onkostenvergoeding", "kostenvergoeding").replace("De stage is bij", "Een stage is bij")
    assert [p.id for p in parse(changed)] == EXPECTED_IDS


def test_texts_are_verbatim_in_the_normalised_source() -> None:
    body = body_text(RAW)
    for p in PROVISIONS:
        assert p.text in body, p.id


def test_provisions_cover_all_substantive_text_exactly_once() -> None:
    body = body_text(RAW)
    blocks = split_blocks(RAW)
    for b in blocks:  # headings are structure, carried in labels and paths
        if b.kind in ("heading", "subsection", "extra"):
            body = body.replace(b.title, "", 1)
    for p in PROVISIONS:
        assert body.count(p.text) == 1, f"{p.id} occurs {body.count(p.text)} times"
        body = body.replace(p.text, "", 1)
    rest = re.sub(r"\s+", " ", body).strip()
    # all that may remain: the title lines and the lead-in of the definitions list
    rest = rest.replace("NRTO – VERENIGING HOGESCHOLEN – VNO-NCW / MKB-NEDERLAND", "")
    rest = rest.replace("Stagecode hbo", "").replace("In dit document wordt verstaan onder:", "")
    for p in PROVISIONS:  # definitions quote the definition; the term is the label
        if p.kind == "definition":
            rest = rest.replace(p.path[1], "", 1)
    assert re.sub(r"\s+", "", rest) == ""


def test_footnotes_are_linked_to_the_provision_that_carries_their_marker() -> None:
    links = {p.id: p.footnote_of for p in PROVISIONS if p.kind == "footnote"}
    assert links == {"fn.1": "pre.doel", "fn.2": "pre.doel", "fn.3": "3A.duaal",
                     "fn.4": "3B.vd.2a", "fn.5": "4.intro"}
    assert BY_ID["3B.vd.2a"].footnotes == ("fn.4",)
    assert BY_ID["pre.doel"].footnotes == ("fn.1", "fn.2")
    assert BY_ID["fn.4"].text.startswith("In het geval dat een bedrijf stageplaatsen")
    assert BY_ID["fn.4"].text.endswith("per student besproken.")


def test_extraction_artifacts_are_gone() -> None:
    for p in PROVISIONS:
        assert not re.search(r"[\ufffd\t\xa0]|  |^–|[A-Za-z’][1-5](?=[\s.,;:]|$)", p.text), p.id
    assert "onderstaande afspraken" in BY_ID["pre.reikwijdte"].text  # onder-⏎staande
    assert "samenwerkende organisaties" in BY_ID["pre.afwijken"].text
    assert "VNO-NCW/MKB-Nederland, zich" in BY_ID["pre.naleving"].text  # MKB-⏎Nederland
    assert "stage/werkplekleren in gesprek" in BY_ID["4.aanv.6"].text  # stage/⏎werkplekleren
    # the bullet cut in two by footnote 5 at a page break is whole again
    assert BY_ID["4.aanv.2"].text.endswith("(sociaal) veilige behandeling van alle studenten.")
    assert "begeleiden en beoordelen van studenten" in BY_ID["4.aanv.2"].text


def test_structure_tracks_and_lettered_items() -> None:
    assert BY_ID["3B.vd.2"].children == ("3B.vd.2a", "3B.vd.2b")
    assert BY_ID["3B.vd.2b"].parent == "3B.vd.2"
    assert BY_ID["3B.vd.2a"].path == ("3", "B", "Aanvullende afspraken voor voltijd- en deeltijdopleiding", "2", "a")
    assert not BY_ID["3B.vd.2a"].text.startswith("a")
    assert {p.track for p in PROVISIONS if ".vd" in p.id} == {"vd"}
    assert {BY_ID[i].track for i in ("3A.duaal", "3B.duaal.1", "fn.3")} == {"duaal"}
    assert BY_ID["3B.2"].track == "all"
    assert BY_ID["3B.vd.3"].text.endswith("Dit is anders bij een duale opleiding.")
    assert BY_ID["slot.ondertekend"].text == "Ondertekend op 17 november 2025 te Den Haag,"
    assert BY_ID["def.werkbegeleider"].label_nl == "1 Definities › Werkbegeleider"


def test_an_introduction_that_ends_with_a_colon_has_the_bullets_after_it_as_items() -> None:
    """"De ambities van dit manifest zijn:" announces the four ambitions; the other
    introductions end with a full stop and have none."""
    assert BY_ID["4.intro"].text.endswith("De ambities van dit manifest zijn:")
    assert BY_ID["4.intro"].children == ("4.amb.1", "4.amb.2", "4.amb.3", "4.amb.4")
    assert {BY_ID[f"4.amb.{n}"].parent for n in range(1, 5)} == {"4.intro"}
    assert BY_ID["4.aanv.1"].parent is None
    # the lettered items' lead-in says nothing else and gives way to them; the manifesto's says who signed
    assert BY_ID["3B.vd.2"].gives_way_to_items and not BY_ID["4.intro"].gives_way_to_items
    assert BY_ID["4.intro"].announces_items and not BY_ID["4.aanv.intro"].announces_items
    others = [p.id for p in PROVISIONS if p.kind == "intro" and p.children and p.id != "4.intro"]
    assert others == [] and all(not p.text.endswith(":") for p in PROVISIONS if p.kind == "intro" and p.id != "4.intro")


def test_clean_joins_wrapped_lines() -> None:
    assert clean(["De onder-", "staande"]) == "De onderstaande"
    assert clean(["VNO-NCW/MKB-", "Nederland"]) == "VNO-NCW/MKB-Nederland"
    assert clean(["op de stage-/", "leerwerkplek"]) == "op de stage-/leerwerkplek"
    assert clean(["–\t\ufffd Er is  een", "", "plek"]) == "– Er is een plek"


def test_text_that_is_not_the_code_is_refused() -> None:
    with pytest.raises(ParseError):
        parse("Dit is een boodschappenlijst.\n– melk\n– brood\n")
