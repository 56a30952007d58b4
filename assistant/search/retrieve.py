"""Finding the provisions that answer a question, and what kind of question it is.

Every provision is scored by a ranker learned from the question bank (assistant/learn/) over
its similarity to the question (per field), BM25, a provision classifier and the nearest bank
questions; the same evidence feeds the learned decision (answer, list, not covered, unrelated,
injection) and the safety route. The stores are LangChain's (Chroma for the vectors,
BM25Retriever for the term statistics); scoring is ours because it needs every provision's
evidence at once, which neither retriever returns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from langchain_community.retrievers import BM25Retriever
from langchain_core.embeddings import Embeddings

from assistant.corpus.corpus import Corpus
from assistant.learn.bank import KINDS, BankQuestion, load_bank
from assistant.learn.model import LearnedModel, SafetyScore
from assistant.learn.signals import (
    BankVectors,
    Entries,
    bank_vectors,
    decide_input,
    entries_from,
    fit_context,
    list_input,
    open_part_input,
    question_signals,
    rank_features,
    reading_input,
    reading_part,
    safety_input,
)
from assistant.search.index import Index
from assistant.text import lexicon
from assistant.text.language import WordLanguages
from assistant.text.tokens import analyze, fold, word_count, words

_DUAAL = lexicon.pattern("track_words", "duaal")
_VD = lexicon.pattern("track_words", "vd")


def question_track(text: str) -> str | None:
    """'duaal' or 'vd' when the question is about one track, else None."""
    t = fold(text)
    d, v = bool(_DUAAL.search(t)), bool(_VD.search(t))
    if d and not v:
        return "duaal"
    if v and not d:
        return "vd"
    return None


def names_track(text: str, track: str) -> bool:
    """Whether a text names `track` ('vd' or 'duaal'), as a summary that opens with it does."""
    return bool((_DUAAL if track == "duaal" else _VD).search(fold(text)))


def term_table(bm25: BM25Retriever) -> tuple[dict[str, np.ndarray], list[str]]:
    """Each indexed term's BM25 contribution to every document, and the documents' ids.

    Why: `BM25Okapi.get_scores` rebuilds each query term's frequency column in Python over
    all documents on every call. Its statistics do not change after fitting, so the same
    terms are computed once here; the sums are the library's own, in the same order (a test
    checks they are equal).
    """
    bm = bm25.vectorizer
    doc_len = np.array(bm.doc_len)
    norm = bm.k1 * (1 - bm.b + bm.b * doc_len / bm.avgdl)
    out = {}
    for term, idf in bm.idf.items():
        freq = np.array([doc.get(term) or 0 for doc in bm.doc_freqs])
        out[term] = (idf or 0) * (freq * (bm.k1 + 1) / (freq + norm))
    return out, [d.metadata["pid"] for d in bm25.docs]


@dataclass(frozen=True)
class TermScores:
    """BM25 as a lookup: each term's contribution to every provision (corpus order)."""

    table: dict[str, np.ndarray]
    columns: np.ndarray  # corpus position of each BM25 document
    n_provisions: int

    @classmethod
    def build(cls, bm25: BM25Retriever, corpus: Corpus) -> TermScores:
        table, order = term_table(bm25)
        position = {p.id: i for i, p in enumerate(corpus.provisions)}
        return cls(table, np.array([position[pid] for pid in order]), len(corpus.provisions))

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every provision (corpus order) for a question's tokens."""
        out = np.zeros(self.n_provisions, dtype=np.float32)
        for t in tokens:
            if (row := self.table.get(t)) is not None:
                out[self.columns] += row
        return out


#: how many ranked provisions a search returns: more than any answer cites or sets aside
MAX_HITS = 20
#: a bank question this similar is the same question (a copy up to case, spacing or a typo):
#: its label is known, so it decides over the models' generalisation
SAME_QUESTION = 0.97


@dataclass
class Hit:
    """A provision found for a query: the ranker's probability that it answers the question."""

    pid: str
    score: float


@dataclass
class Findings:
    """What one search found: ranked provisions, the decision's class probabilities, the
    safety route's probability and the out-of-scope topic it is about (None when unsure)."""

    hits: list[Hit]
    decision: dict[str, float]
    #: the safety route's scores (alone and with the word model's second opinion) and thresholds
    safety: SafetyScore
    topic: str | None
    top_similarity: float
    #: the nearest bank question when it is (nearly) this very question: its kind and safety label
    same_as: tuple[str, bool] | None = None
    #: what the choice of reading keeps of this search (`reading_part`), the ranker's probability
    #: for every provision and the question vector: (1, n) rows
    reading: np.ndarray | None = None
    prob: np.ndarray | None = None
    vector: np.ndarray | None = None
    #: the answer threshold of the model that decided (None: the general one)
    answer_min: float | None = None
    #: whose obligations the question asks for, if it asks for a list (None: the asker's own)
    party: str | None = None
    #: which phase a list question asks for ("any": the whole list; None: no phase model)
    phase: str | None = None
    #: for a follow-up read with the message before it: P(it asks for a whole list rather than
    #: one point), which then decides between the two (None: the decision's own shares decide)
    list_share: float | None = None
    #: P(the question, if answered, also asks a matter the code leaves open; None: no such model)
    open_part: float | None = None
    #: for a question the decision answers as one point: P(it asks for a party's whole list),
    #: which may offer that list (None: not such a question, or no such model)
    list_offer: float | None = None


@dataclass
class Retriever:
    """Runs one query against an opened index with the learned models."""

    corpus: Corpus
    index: Index
    embeddings: Embeddings
    model: LearnedModel

    @cached_property
    def _bm25(self) -> TermScores:
        return TermScores.build(self.index.bm25, self.corpus)

    def lexical_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every provision (corpus order) for the question's tokens."""
        return self._bm25.scores(tokens)

    @cached_property
    def _entries(self) -> Entries:
        v = self.index.vectors
        return entries_from(self.corpus, v.matrix, v.pids, v.fields)

    @cached_property
    def _questions(self) -> list[BankQuestion]:
        return load_bank(self.corpus.files.bank)

    @cached_property
    def _bank(self) -> BankVectors:
        return bank_vectors(self.corpus, self._questions, self.index.bank)

    @cached_property
    def word_languages(self) -> WordLanguages:
        """Which language each word of the bank's questions and of the code's bilingual layer
        leans to, for telling the language of a message of a word or two."""
        return WordLanguages.learn([*((q.text, q.lang) for q in self._questions), *self.corpus.language_examples()])

    @cached_property
    def _fits(self) -> dict[tuple[str | None, str | None], tuple[np.ndarray, ...]]:
        return {}

    def _fit(self, role: str | None, track: str | None) -> tuple[np.ndarray, ...]:
        """Role and track fit of every provision, as rows for the ranker (computed once for each
        of the few role and track pairs; a race only computes the same value twice)."""
        if (role, track) not in self._fits:
            self._fits[(role, track)] = tuple(a[None, :] for a in fit_context(self.corpus, role, track))
        return self._fits[(role, track)]

    def examine(self, query: str, role: str | None = None, track: str | None = None,
                within: set[str] | None = None) -> Findings:
        """Rank every provision for a query and judge what kind of question it is."""
        q = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)
        q = (q / (np.linalg.norm(q) or 1.0))[None, :]
        tokens = analyze(query)
        bm25 = self.lexical_scores(tokens)
        bank = self._bank
        sig = question_signals(q, self._entries, bank, bm25[None, :], np.array([len(words(query))], dtype=np.float32))
        cls = self.model.cls.proba(q)
        prob = self.model.ranker.proba(rank_features(sig, cls, *self._fit(role, track)))
        decide_in = decide_input(sig, cls, prob, q)
        # the choice of reading was trained on the general decision of each reading
        general = self.model.decide.proba(decide_in)[0]
        decision, answer_min = self.model.decision(decide_in, word_count(query), general)
        safety = self.model.safety_score(safety_input(decide_in, prob), query, word_count(query))
        dense = np.maximum(sig.fields[0, :, 0], sig.fields[0, :, 1])
        hits = []
        for i in np.argsort(-prob[0], kind="stable"):
            pid = self.corpus.provisions[i].id
            if within is None or pid in within:
                hits.append(Hit(pid, float(prob[0, i])))
                if len(hits) == MAX_HITS:  # nothing reads further down the ranking
                    break
        topic_prob, word_prob = self.model.topic_proba(q, query)
        best = int(topic_prob[0].argmax())
        topic = self.model.meta["topics"][best] if topic_prob[0, best] >= self.model.thresholds["topic_min"] else None
        row = int(sig.nearest[0, 0])
        same_as = ((KINDS[bank.kind[row]], bool(bank.safety[row]))
                   if sig.nearest_sim[0] >= SAME_QUESTION else None)
        return Findings(hits, dict(zip(KINDS, map(float, decision), strict=True)), safety, topic,
                        float(dense.max()), same_as, reading_part(decide_in, general[None, :]), prob, q,
                        answer_min, open_part=self.model.open_part_of(open_part_input(decide_in, topic_prob, word_prob)))

    def with_list_offer(self, found: Findings, text: str, role: str | None) -> Findings:
        """`found` with the list-offer model's probability, from its vector and the words of
        `text` (the message alone, as the model was trained), when the decision answers it as
        one point: only such an answer can offer a list, so only the reading that is answered,
        and only then, pays for the model."""
        d = found.decision
        one_point = (found.answer_min or 0.0) <= d["answer"] + d["list"] and d["list"] <= d["answer"]
        if found.vector is None or not one_point:
            return found
        return replace(found, list_offer=self.model.list_offer_of(list_input(found.vector, [role]), text))

    def with_list_choices(self, found: Findings, text: str, role: str | None) -> Findings:
        """`found` with the party and phase a list of it would be for, from its vector and the
        words of `text`: only a list or an offer of one reads them, so only such an answer pays
        for the models."""
        if found.vector is None:
            return found
        list_in = list_input(found.vector, [role])
        return replace(found, party=self.model.party_of(list_in, text), phase=self.model.phase_of(list_in, text))

    def follows(self, alone: Findings, joined: Findings, opening: bool) -> float | None:
        """P(a chat message is meant with the one before it), from its two readings and whether
        it opens like a follow-up; None when the model was trained without chat turns."""
        if alone.reading is None or joined.reading is None:
            return None
        return self.model.follows(reading_input(alone.reading, joined.reading, alone.prob, joined.prob,
                                                alone.vector, joined.vector, np.array([opening])))

    def list_choices_of_follow_up(self, joined: Findings, alone: Findings, text: str, role: str | None) -> Findings:
        """The joined reading of a chat message, its list choices made from both readings'
        vectors and the words of the message alone (`text`): a follow-up may ask for another
        list than the message before it ("and during?"), or for one point of it ("just the
        allowance part")."""
        if joined.vector is None or alone.vector is None:
            return joined
        list_in = list_input(joined.vector, [role], alone.vector)
        return replace(joined, list_share=self.model.list_share(list_in), party=self.model.party_of(list_in, text),
                       phase=self.model.phase_of(list_in, text))

    def search(self, query: str, role: str | None = None, track: str | None = None, k: int = 8,
               within: set[str] | None = None) -> list[Hit]:
        """The k provisions most likely to answer the query, best first."""
        return self.examine(query, role, track, within).hits[:k]
