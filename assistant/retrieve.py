"""Hybrid retrieval over provisions: dense (Chroma, multi-vector) + BM25, fused by rank.

LangChain's EnsembleRetriever fuses ranks too, but returns no scores and cannot aggregate
several entries of one provision before fusing, and both are needed here: scores feed the
abstention decision, and a provision must not win just because it has more entries. So the
fusion (weighted reciprocal rank fusion) is ours; the stores are LangChain's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.corpus import Corpus
from assistant.domain import ROLE_AUDIENCE
from assistant.index import Index
from assistant.tokens import analyze, fold

RRF_K = 20
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 2.5
ROLE_BOOST = 0.08
TRACK_PENALTY = 0.5

_DUAAL = re.compile(r"\b(duaal|duale|dual|werkplekleren|werkend leren|leerwerk\w*|work-?based)\b")
_VD = re.compile(r"\b(voltijd\w*|deeltijd\w*|full[- ]?time|part[- ]?time|fulltime|parttime)\b")


def question_track(text: str) -> str | None:
    """'duaal' or 'vd' when the question is about one track, else None."""
    t = fold(text)
    d, v = bool(_DUAAL.search(t)), bool(_VD.search(t))
    if d and not v:
        return "duaal"
    if v and not d:
        return "vd"
    return None


@dataclass
class Hit:
    """A provision found for a query, with the evidence behind its rank."""

    pid: str
    score: float  # fused score, after role and track adjustments
    dense: float = 0.0  # best cosine similarity among the provision's entries
    lexical: float = 0.0  # BM25 score of the provision's document
    matched: list[str] = field(default_factory=list)  # which entry kinds matched best
    base: float = 0.0  # fused score before the track penalty
    terms: frozenset[str] = frozenset()  # the question's BM25 tokens found in the provision


@dataclass
class Retriever:
    """Runs one query against an opened index."""

    corpus: Corpus
    index: Index
    embeddings: Embeddings
    k_entries: int = 80

    def dense(self, query: str) -> dict[str, tuple[float, str]]:
        """Best cosine similarity per provision among the k nearest entries (max per id)."""
        vectors = self.index.vectors
        best: dict[str, tuple[float, str]] = {}
        for row, sim in vectors.nearest(self.embeddings.embed_query(query), self.k_entries):
            pid = vectors.pids[row]
            if pid not in best:  # rows come best first
                best[pid] = (sim, vectors.fields[row])
        return best

    def lexical(self, query: str) -> dict[str, float]:
        """BM25 score per provision. BM25Retriever drops scores, so ask its vectorizer."""
        return self._lexical(analyze(query))[0]

    def _lexical(self, tokens: list[str]) -> tuple[dict[str, float], dict[str, frozenset[str]]]:
        """BM25 score per provision, and which of the tokens each provision's document holds."""
        scores = np.zeros(len(self._bm25_pids))
        held: dict[str, set[str]] = {}
        for token in tokens:  # what BM25Okapi.get_scores adds up, term by term
            row = self._term_scores.get(token)
            if row is not None:
                scores += row
                for i in np.flatnonzero(row):
                    held.setdefault(self._bm25_pids[i], set()).add(token)
        found = {pid: float(s) for pid, s in zip(self._bm25_pids, scores, strict=True) if s > 0}
        return found, {pid: frozenset(t) for pid, t in held.items()}

    @cached_property
    def _bm25_pids(self) -> list[str]:
        return [d.metadata["pid"] for d in self.index.bm25.docs]

    @cached_property
    def _term_scores(self) -> dict[str, np.ndarray]:
        """Each indexed term's BM25 contribution to every document, from the fitted BM25Okapi.

        Why: `BM25Okapi.get_scores` rebuilds each query term's frequency column in Python over
        all documents, ~0.6 ms a question, a tenth of the whole answer (issue 7). Its statistics
        do not change after fitting, so the same terms are computed once here; the sums are the
        library's own, in the same order (a test checks they are equal).
        """
        bm = self.index.bm25.vectorizer
        doc_len = np.array(bm.doc_len)
        norm = bm.k1 * (1 - bm.b + bm.b * doc_len / bm.avgdl)
        out = {}
        for term, idf in bm.idf.items():
            freq = np.array([doc.get(term) or 0 for doc in bm.doc_freqs])
            out[term] = (idf or 0) * (freq * (bm.k1 + 1) / (freq + norm))
        return out

    def search(
        self, query: str, role: str | None = None, track: str | None = None, k: int = 8,
        within: set[str] | None = None,
    ) -> list[Hit]:
        """Rank provisions for a query; `within` restricts the result to those ids."""
        dense = self.dense(query)
        lexical, terms = self._lexical(analyze(query))
        dense_rank = sorted(dense, key=lambda p: -dense[p][0])
        lex_rank = sorted(lexical, key=lambda p: -lexical[p])
        fused: dict[str, float] = {}
        for rank, pid in enumerate(dense_rank):
            fused[pid] = fused.get(pid, 0.0) + DENSE_WEIGHT / (RRF_K + rank + 1)
        for rank, pid in enumerate(lex_rank):
            fused[pid] = fused.get(pid, 0.0) + LEXICAL_WEIGHT / (RRF_K + rank + 1)
        audience = ROLE_AUDIENCE.get(role or "")
        hits = []
        for pid, score in fused.items():
            if within is not None and pid not in within:
                continue
            c = self.corpus.curation.get(pid)
            p = self.corpus.by_id[pid]
            if audience and c is not None and audience in c.audiences:
                score *= 1 + ROLE_BOOST
            base = score
            ptrack = p.track
            # a rule of one track that itself speaks of the other ("Dit is anders bij een duale
            # opleiding") is exactly what a question about that other track needs
            mentions_other = track == "duaal" and "dua" in p.text.lower()
            if track and ptrack != "all" and ptrack != track and not mentions_other:
                score *= TRACK_PENALTY
            elif track and ptrack == track:
                score *= 1 + ROLE_BOOST
            hits.append(
                Hit(pid, score, dense.get(pid, (0.0, ""))[0], lexical.get(pid, 0.0),
                    [dense.get(pid, (0.0, ""))[1]], base, terms.get(pid, frozenset()))
            )
        hits.sort(key=lambda h: -h.score)
        # keep the strongest other-track rules too, however far the penalty pushed them:
        # the answer needs them to say that they do not apply
        rest = sorted((h for h in hits[k:] if h.base > h.score), key=lambda h: -h.base)[:2]
        return hits[:k] + rest
