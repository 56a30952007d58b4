"""What the learned models read about a question: its similarity to each provision's texts,
BM25, the nearest bank questions and their labels, and role/track fit, as feature matrices.

The same functions serve training (many questions at once, each kept away from the bank
questions of its own pass) and answering (one question against the whole bank), so the
models see the same features in both.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from assistant.corpus.corpus import Corpus
from assistant.domain import ROLE_AUDIENCE, ROLES
from assistant.learn.bank import KINDS, BankQuestion

#: entry fields of the index, grouped into the similarity features a provision gets
FIELD_GROUPS = {"text": ("text", "en"), "summary": ("summary",), "title": ("title",)}
NEIGHBOURS = 10
#: OpenBLAS computes a row times a matrix in runs of this many columns: pieces cut at these
#: bounds give exactly the numbers of the whole product (a test checks it)
PIECE = 4096

RANK_FEATURES = (
    "d_text", "d_summary", "d_title", "bank_max", "bank_vote", "cls", "log_cls", "bm25_rel",
    "bm25_any", "rr_dense", "rr_bm25", "rr_cls", "rr_bank", "gap_dense", "gap_bank",
    "audience", "track_match", "track_other",
)
DECIDE_META = (
    "p1", "p2", "p3_sum", "margin", "cls_max", "cls_entropy", "d_text_max", "d_summary_max",
    "bank_answered_max", *(f"bank_{k}_max" for k in KINDS[2:]),
    *(f"vote_{k}" for k in KINDS), "bm25_max", "n_words",
)


def _grouped_max(sims: np.ndarray, order: np.ndarray, starts: np.ndarray, owners: np.ndarray,
                 n_out: int) -> np.ndarray:
    """(N, K) similarities → (N, n_out): per owner, the best of its columns; -1 where it has none.

    `order` lists the columns grouped by owner, `starts` where each group begins in `order`,
    and `owners` whose group it is: one gather and one `maximum.reduceat` instead of a loop.
    """
    out = np.full((sims.shape[0], n_out), -1.0, dtype=np.float32)
    if order.size:
        out[:, owners] = np.maximum.reduceat(sims[:, order], starts, axis=1)
    return out


def _groups(owner_of_column: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns sorted by owner, where each owner's run starts, and the owners (for _grouped_max)."""
    order = np.argsort(owner_of_column, kind="stable")
    owners, starts = np.unique(owner_of_column[order], return_index=True)
    return order, starts, owners


@dataclass
class Entries:
    """The provisions' own texts as vectors, for per-provision similarity features."""

    matrix: np.ndarray  # (E, D) unit rows
    pid_index: np.ndarray  # (E,) provision position of each entry
    group: np.ndarray  # (E,) index into FIELD_GROUPS of each entry

    def __post_init__(self) -> None:
        self._by_group = [(cols, *_groups(self.pid_index[cols]))
                          for cols in (np.flatnonzero(self.group == g) for g in range(len(FIELD_GROUPS)))]

    def per_provision(self, sims: np.ndarray, n_provisions: int) -> np.ndarray:
        """(N, E) similarities → (N, P, groups): the best entry of each group per provision."""
        return np.stack([_grouped_max(sims[:, cols], order, starts, owners, n_provisions)
                         for cols, order, starts, owners in self._by_group], axis=2)


@dataclass
class BankVectors:
    """The bank's questions as vectors with their labels, for nearest-question features."""

    matrix: np.ndarray  # (B, D) unit rows
    labels: np.ndarray  # (B, P) 1 where the provision answers the question
    kind: np.ndarray  # (B,) index into KINDS
    pass_index: np.ndarray  # (B,) which pass wrote it (training keeps a pass from itself)
    topic: list[str | None]
    safety: np.ndarray  # (B,) labelled as a safety question

    def __post_init__(self) -> None:
        self.columns = np.ascontiguousarray(self.matrix.T)  # (D, B): one contiguous product a question
        rows, pids = np.nonzero(self.labels)  # one (row, provision) pair per label
        order, starts, owners = _groups(pids)
        self._label_rows, self._label_starts, self._label_owners = rows[order], starts, owners
        self._kinds = _groups(self.kind)
        n = self.columns.shape[1]
        pieces = [(a, min(a + PIECE, n)) for a in range(0, n, PIECE)]
        if len(pieces) > 1 and n - pieces[-1][0] == 1:  # one column alone would be a dot product, rounded otherwise
            pieces[-2:] = [(pieces[-2][0], n)]
        self._mine, self._theirs = pieces[0::2], pieces[1::2]
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        self._helper = ThreadPoolExecutor(1, thread_name_prefix="bank") if cores > 1 and self._theirs else None

    def similarities(self, qvecs: np.ndarray) -> np.ndarray:
        """(N, D) unit vectors → (N, B) similarity to every bank question.

        One question's product reads the whole bank (19 MB) and is bound by one core's memory
        bandwidth, so with a second core a helper thread computes every other piece of it. If the
        helper is still busy with another question, this thread does that part itself.
        """
        if qvecs.shape[0] != 1 or self._helper is None:
            return qvecs @ self.columns
        out = np.empty((1, self.columns.shape[1]), dtype=np.float32)

        def fill(pieces: list[tuple[int, int]]) -> None:
            for a, b in pieces:
                np.matmul(qvecs, self.columns[:, a:b], out=out[:, a:b])

        theirs = self._helper.submit(fill, self._theirs)
        fill(self._mine)
        if theirs.cancel():
            fill(self._theirs)
        else:
            theirs.result()
        return out

    def best_per_provision(self, sims: np.ndarray) -> np.ndarray:
        """(N, B) similarities → (N, P): the most similar bank question each provision answers."""
        return _grouped_max(sims, self._label_rows, self._label_starts, self._label_owners,
                            self.labels.shape[1])

    def best_per_kind(self, sims: np.ndarray) -> np.ndarray:
        """(N, B) similarities → (N, kinds): the most similar bank question of each kind."""
        return _grouped_max(sims, *self._kinds, len(KINDS))


def _recip_rank(scores: np.ndarray) -> np.ndarray:
    """1/(1+rank) of each column within its row, best first."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(scores.shape[0])[:, None]
    ranks[rows, order] = np.arange(scores.shape[1])[None, :]
    return 1.0 / (1.0 + ranks)


@dataclass
class QuestionSignals:
    """Per-question raw signals, computed for a batch of N questions."""

    fields: np.ndarray  # (N, P, groups)
    bm25: np.ndarray  # (N, P)
    bank_max: np.ndarray  # (N, P)
    bank_vote: np.ndarray  # (N, P)
    kind_max: np.ndarray  # (N, kinds): best similarity to a bank question of each kind
    kind_vote: np.ndarray  # (N, kinds): share of the nearest bank questions of each kind
    nearest: np.ndarray  # (N, NEIGHBOURS) bank rows, best first
    nearest_sim: np.ndarray  # (N,) similarity of the nearest bank question
    n_words: np.ndarray  # (N,)


def question_signals(
    qvecs: np.ndarray, entries: Entries, bank: BankVectors, bm25: np.ndarray, n_words: np.ndarray,
    exclude_pass: np.ndarray | None = None,
) -> QuestionSignals:
    """Signals for N question vectors; `exclude_pass[i]` hides that pass's bank questions from i."""
    n_prov = bank.labels.shape[1]
    fields = entries.per_provision(qvecs @ entries.matrix.T, n_prov)
    sims = bank.similarities(qvecs)  # (N, B)
    if exclude_pass is not None:
        sims = np.where(bank.pass_index[None, :] == exclude_pass[:, None], -2.0, sims)
    bank_max = bank.best_per_provision(sims)
    kind_max = bank.best_per_kind(sims)
    k = min(NEIGHBOURS, sims.shape[1])
    nearest = np.argpartition(sims, sims.shape[1] - k, axis=1)[:, -k:]
    nearest = np.take_along_axis(nearest, np.argsort(-np.take_along_axis(sims, nearest, axis=1),
                                                     axis=1, kind="stable"), axis=1)
    near_sims = np.clip(np.take_along_axis(sims, nearest, axis=1), 0.0, None)
    weight = near_sims / np.maximum(near_sims.sum(axis=1, keepdims=True), 1e-9)
    bank_vote = np.einsum("nk,nkp->np", weight, bank.labels[nearest].astype(np.float32))
    onehot = np.eye(len(KINDS), dtype=np.float32)[bank.kind[nearest]]
    kind_vote = np.einsum("nk,nkc->nc", weight, onehot)
    return QuestionSignals(fields, bm25, bank_max, bank_vote, kind_max, kind_vote, nearest,
                           np.take_along_axis(sims, nearest[:, :1], axis=1)[:, 0], n_words)


def rank_features(
    s: QuestionSignals, cls: np.ndarray, audience: np.ndarray, track_match: np.ndarray,
    track_other: np.ndarray,
) -> np.ndarray:
    """(N, P, len(RANK_FEATURES)) features of every (question, provision) pair."""
    d_text, d_sum, d_title = (s.fields[:, :, g] for g in range(3))
    dense = np.maximum(d_text, d_sum)
    bm_max = s.bm25.max(axis=1, keepdims=True)
    feats = [
        d_text, d_sum, d_title, s.bank_max, s.bank_vote, cls, np.log(cls + 1e-4),
        s.bm25 / np.maximum(bm_max, 1e-9), (s.bm25 > 0).astype(np.float32),
        _recip_rank(dense), _recip_rank(s.bm25), _recip_rank(cls), _recip_rank(s.bank_max),
        dense - dense.max(axis=1, keepdims=True), s.bank_max - s.bank_max.max(axis=1, keepdims=True),
        audience, track_match, track_other,
    ]
    return np.stack([np.asarray(f, dtype=np.float32) for f in feats], axis=2)


def decide_meta(s: QuestionSignals, cls: np.ndarray, rank_prob: np.ndarray) -> np.ndarray:
    """(N, len(DECIDE_META)) question-level features for the answer/abstain decision."""
    top = -np.sort(-rank_prob, axis=1)
    entropy = -(cls * np.log(cls + 1e-9)).sum(axis=1)
    feats = [
        top[:, 0], top[:, 1], top[:, :3].sum(axis=1), top[:, 0] - top[:, 1], cls.max(axis=1), entropy,
        s.fields[:, :, 0].max(axis=1), s.fields[:, :, 1].max(axis=1),
        np.where(s.kind_max[:, :2].max(axis=1) > -1, s.kind_max[:, :2].max(axis=1), -1.0),
        *(s.kind_max[:, k] for k in range(2, len(KINDS))),
        *(s.kind_vote[:, k] for k in range(len(KINDS))),
        np.log1p(s.bm25.max(axis=1)), np.log1p(s.n_words),
    ]
    return np.stack([np.asarray(f, dtype=np.float32) for f in feats], axis=1)


def decide_input(s: QuestionSignals, cls: np.ndarray, rank_prob: np.ndarray, qvecs: np.ndarray) -> np.ndarray:
    """What the answer/abstain decision reads: the question-level features and the question vector."""
    return np.concatenate([decide_meta(s, cls, rank_prob), qvecs], axis=1)


def open_part_input(decide_in: np.ndarray, topic_prob: np.ndarray, word_prob: np.ndarray) -> np.ndarray:
    """What the open-part model reads: the decision's inputs, how sure the topic model is of its
    first two topics (a question that also asks an open matter names one of them clearly) and how
    sure its word model alone is of its first (a short clause can name the matter in a word)."""
    top2 = -np.sort(-topic_prob, axis=1)[:, :2]
    return np.concatenate([decide_in, top2.astype(np.float32),
                           word_prob.max(axis=1, keepdims=True).astype(np.float32)], axis=1)


def safety_input(decide_in: np.ndarray, rank_prob: np.ndarray) -> np.ndarray:
    """What the safety route reads: the decision's inputs and the ranker's probability for every
    provision, since which provisions a question is about tells a discrimination case from, say,
    a colleague's illness in a question about tasks."""
    return np.concatenate([decide_in, rank_prob.astype(np.float32)], axis=1)


#: what the choice of reading keeps of a reading's question-level features: how sure the
#: ranker is of its first two provisions, and how long the text is
READING_META = ("p1", "p2", "margin", "n_words")


_READING_COLUMNS = [DECIDE_META.index(name) for name in READING_META]


def reading_part(decide_in: np.ndarray, decision: np.ndarray) -> np.ndarray:
    """What the choice of reading keeps of one reading of a message: `READING_META` and the
    decision's class probabilities."""
    return np.concatenate([decide_in[:, _READING_COLUMNS], decision], axis=1).astype(np.float32)


def reading_input(alone: np.ndarray, joined: np.ndarray, prob_alone: np.ndarray, prob_joined: np.ndarray,
                  vec_alone: np.ndarray, vec_joined: np.ndarray, opening: np.ndarray) -> np.ndarray:
    """What the choice between reading a chat message alone and reading it with the message
    before it reads: each reading's `reading_part`, how alike the two rankings are, whether
    they lead with the same provision, how alike the two question vectors are, and whether the
    message opens like a follow-up by the lexicon (`opening`, one per message)."""
    def cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-9)

    same_top = (prob_alone.argmax(axis=1) == prob_joined.argmax(axis=1)).astype(np.float32)
    return np.concatenate([alone, joined, np.stack([cos(prob_alone, prob_joined), same_top, cos(vec_alone, vec_joined),
                                                    opening.astype(np.float32)], axis=1)], axis=1).astype(np.float32)


#: names the features the models read; a model trained on other features is stale
FEATURES = hashlib.sha256(repr((RANK_FEATURES, DECIDE_META, "decide: meta+qvec",
                                "safety: meta+qvec+rank_prob", "safety words: 1-2 grams, second tier",
                                "safety and decision: short messages by models of their own",
                                "reading:", READING_META, "+decision of both readings, rank and vector cosines, lexicon opening",
                                "topic: vector, blended with 1-2 grams", "open part: +top word-model topic")).encode()).hexdigest()[:12]


def entries_from(corpus: Corpus, vecs: np.ndarray, pids: list[str], fields: list[str]) -> Entries:
    position = {p.id: i for i, p in enumerate(corpus.provisions)}
    group_of = {f: g for g, fs in enumerate(FIELD_GROUPS.values()) for f in fs}
    keep = [i for i, f in enumerate(fields) if f in group_of]
    m = vecs[keep]
    m = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    return Entries(m.astype(np.float32), np.array([position[pids[i]] for i in keep]),
                   np.array([group_of[fields[i]] for i in keep]))


def bank_vectors(corpus: Corpus, bank: list[BankQuestion], vecs: np.ndarray) -> BankVectors:
    position = {p.id: i for i, p in enumerate(corpus.provisions)}
    passes = sorted({q.pass_ for q in bank})
    labels = np.zeros((len(bank), len(corpus.provisions)), dtype=bool)
    for r, q in enumerate(bank):
        for pid in q.ids:
            if q.answered:
                labels[r, position[pid]] = True
    return BankVectors(vecs.astype(np.float32), labels, np.array([KINDS.index(q.kind) for q in bank]),
                       np.array([passes.index(q.pass_) for q in bank]), [q.topic for q in bank],
                       np.array([bool(q.safety) for q in bank]))


def fit_context(corpus: Corpus, role: str | None, track: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per provision: does it concern the asker's audience, fit the question's track, or not."""
    audience = ROLE_AUDIENCE.get(role or "")
    aud, match, other = [], [], []
    for p in corpus.provisions:
        c = corpus.curation.get(p.id)
        aud.append(float(bool(audience and c is not None and audience in c.audiences)))
        mentions_other = track == "duaal" and "dua" in p.text.lower()
        match.append(float(bool(track and p.track == track)))
        other.append(float(bool(track and p.track not in ("all", track) and not mentions_other)))
    return np.array(aud), np.array(match), np.array(other)


def list_input(qvecs: np.ndarray, roles: list[str | None], alone: np.ndarray | None = None) -> np.ndarray:
    """What the choices of party and phase for a list question read: the vector of the text
    searched (a follow-up joined to the message before it), who asks (a one-hot of the role;
    none for an unknown role) and the vector of the message alone (`alone`; the searched
    vector when the message was read alone), so that a follow-up asking for another party or
    phase is not read as the list asked for before it."""
    asker = np.array([[float(r == role) for role in ROLES] for r in roles], dtype=np.float32).reshape(-1, len(ROLES))
    own = qvecs if alone is None else alone
    return np.concatenate([qvecs.astype(np.float32), asker, own.astype(np.float32)], axis=1)
