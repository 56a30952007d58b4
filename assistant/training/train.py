"""Train the learned models from the question bank, validating across writing passes.

Stacking, pass by pass: for each pass, the provision classifier and the nearest-question
features are computed without that pass's questions, so the ranker, the decision and the
safety models learn from features like those of a question nobody wrote into the bank. The
thresholds are chosen on those out-of-pass predictions; the figures reported are each
pass scored by models trained on the other passes. Passes written for the safety route only
(`corpus/questions/safety/`) join the safety model's training in every fold, read through that
fold's models, and are scored by a safety model trained on the bank alone. Passes of two-message
chats (`corpus/questions/turns/`) train the reading model only, each message read alone and with
the one before it through the final models, and are scored pass by pass. Passes of short
messages (`corpus/questions/short/`) train, with the bank's own short questions, the decision for
messages of a few words, scored pass by pass beside the general decision. Passes of answered
questions with and without a second part the code leaves open (`corpus/questions/parts/`) train
the open-part model and, with their open parts, the topic model. Deterministic: fixed
solver and seed, no shuffling, so the same bank and embedding model give the same arrays on the
same BLAS kernel (on another, the vectors differ in the seventh decimal and the weights by up to
2%).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from assistant.answering.answer import MAX_CITATIONS
from assistant.corpus.corpus import Corpus
from assistant.domain import AUDIENCES, LIST_PHASES, ROLE_AUDIENCE, list_phase
from assistant.learn.bank import (
    ANSWERED,
    KINDS,
    BankQuestion,
    joined,
    load_passes,
)
from assistant.learn.model import LearnedModel, Linear
from assistant.learn.signals import (
    FIELD_GROUPS,
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
from assistant.learn.words import WordClasses, WordModel, fit_word_classes, fit_words
from assistant.search.embeddings import embed_queries
from assistant.search.retrieve import TermScores, question_track
from assistant.text.tokens import analyze, word_count, words

SEED = 0
#: a message of at most this many words (stop words included) is decided by the short-message
#: decision: one to four words is how the short-message passes were asked to be written
SHORT_WORDS = 4


def entry_vectors(corpus: Corpus, embeddings: object) -> Entries:
    """The provisions' index entries embedded as documents, the way the index stores them."""
    from assistant.search.index import entries

    docs = [d for d in entries(corpus) if d.metadata["field"] in {f for g in FIELD_GROUPS.values() for f in g}]
    vecs = np.asarray(embeddings.embed_documents([d.page_content for d in docs]), dtype=np.float32)  # type: ignore[attr-defined]
    return entries_from(corpus, vecs, [d.metadata["pid"] for d in docs], [d.metadata["field"] for d in docs])


# ---------------------------------------------------------------------------------------


def _fit_linear(X: np.ndarray, y: np.ndarray, C: float, weight: np.ndarray | None = None,
                balanced: bool = False, scale: bool = True) -> Linear:
    from sklearn.linear_model import LogisticRegression

    mean = X.mean(axis=0) if scale else np.zeros(X.shape[1])
    std = X.std(axis=0) if scale else np.ones(X.shape[1])
    std = np.where(std < 1e-6, 1.0, std)
    model = LogisticRegression(C=C, max_iter=2000, random_state=SEED,
                               class_weight="balanced" if balanced else None)
    model.fit((X - mean) / std, y, sample_weight=weight)
    W = model.coef_.T
    b = model.intercept_
    return Linear(W.astype(np.float32), b.astype(np.float32), mean.astype(np.float32), std.astype(np.float32)), model.classes_


def fit_classifier(vecs: np.ndarray, bank: list[BankQuestion], rows: np.ndarray, n_prov: int,
                   position: dict[str, int], C: float) -> Linear:
    """Provision classifier over the question vector; a question with several ids counts once
    for each (the first at full weight)."""
    X, y, w = [], [], []
    for r in rows:
        for i, pid in enumerate(bank[r].ids):
            X.append(vecs[r])
            y.append(position[pid])
            w.append(1.0 if i == 0 else 0.5)
    lin, classes = _fit_linear(np.array(X), np.array(y), C, np.array(w), scale=False)
    return _widen(lin, classes, n_prov)


@dataclass
class Questions:
    """Questions as the models read them: vectors, BM25 scores, lengths and role/track fit."""

    bank: list[BankQuestion]
    vecs: np.ndarray
    bm25: np.ndarray
    n_words: np.ndarray
    context: tuple[np.ndarray, np.ndarray, np.ndarray]  # per question: audience, track match/other


@dataclass
class Data(Questions):
    """Everything training needs, computed once: the bank's questions, the provisions' own
    vectors, and the questions that train the safety route only (`route`)."""

    corpus: Corpus
    entries: Entries
    bank_vectors: BankVectors
    route: Questions | None = None
    #: the chat turns that train the choice of reading, and each message alone and joined to
    #: the message before it
    turns: list[BankQuestion] | None = None
    readings: tuple[Questions, Questions] | None = None
    #: the passes of short messages that train the short-message decision only
    short: Questions | None = None
    #: the passes of list questions and follow-ups that train the choices of a list only
    lists: Questions | None = None
    #: the vector of each answered follow-up's message alone (of the bank and of `lists`), by its text
    list_alone: dict[str, np.ndarray] | None = None
    #: the passes of answered questions, with and without a matter the code leaves open, that
    #: train the open-part model only
    parts: Questions | None = None


def _questions(corpus: Corpus, bank: list[BankQuestion], embeddings: object, terms: TermScores) -> Questions:
    vecs = embed_queries(embeddings, [q.query for q in bank])
    bm25 = np.stack([terms.scores(analyze(q.query)) for q in bank])
    ctx = [fit_context(corpus, q.role, q.track or question_track(q.query)) for q in bank]
    context = tuple(np.stack([c[i] for c in ctx]) for i in range(3))
    return Questions(bank, vecs, bm25, np.array([len(words(q.query)) for q in bank], dtype=np.float32),
                     context)  # type: ignore[arg-type]


def _readings(turns: list[BankQuestion]) -> tuple[list[BankQuestion], list[BankQuestion]]:
    """Each chat message alone and joined to the message before it, each reading's track taken
    from its own text, as answering does."""
    def reading(q: BankQuestion, text: str) -> BankQuestion:
        return replace(q, text=text, context=None, after=None, track=None)

    return ([reading(q, q.text) for q in turns],
            [reading(q, joined(q.context or q.after or "", q.text)) for q in turns])


def prepare(corpus: Corpus, bank: list[BankQuestion], embeddings: object,
            route: list[BankQuestion] | None = None, turns: list[BankQuestion] | None = None,
            short: list[BankQuestion] | None = None, lists: list[BankQuestion] | None = None,
            parts: list[BankQuestion] | None = None) -> Data:
    from langchain_community.retrievers import BM25Retriever

    from assistant.search.index import lexical_documents

    terms = TermScores.build(BM25Retriever.from_documents(lexical_documents(corpus), preprocess_func=analyze),
                             corpus)
    q = _questions(corpus, bank, embeddings, terms)
    readings = (tuple(_questions(corpus, r, embeddings, terms) for r in _readings(turns)) if turns else None)
    follow_ups = sorted({q.text for q in [*bank, *(lists or [])] if q.answered and q.context})
    list_alone = dict(zip(follow_ups, embed_queries(embeddings, follow_ups), strict=True)) if follow_ups else {}
    return Data(q.bank, q.vecs, q.bm25, q.n_words, q.context, corpus, entry_vectors(corpus, embeddings),
                bank_vectors(corpus, bank, q.vecs), _questions(corpus, route, embeddings, terms) if route else None,
                turns or None, readings,
                _questions(corpus, short, embeddings, terms) if short else None,
                _questions(corpus, lists, embeddings, terms) if lists else None, list_alone,
                _questions(corpus, parts, embeddings, terms) if parts else None)  # type: ignore[arg-type]


def _citations(prob: np.ndarray, min_prob: float, ratio: float) -> list[int]:
    order = np.argsort(-prob, kind="stable")
    top = prob[order[0]]
    return [int(i) for i in order[:MAX_CITATIONS] if prob[i] >= min_prob and prob[i] >= ratio * top] or [int(order[0])]


#: weights of the word model in the safety score that training chooses from (0: the safety model alone)
WORD_WEIGHTS = (0.0, 0.3, 0.5, 0.7, 0.9)
#: weights of the word model in the topic probabilities that training chooses from (0: the vector's model alone)
TOPIC_WORD_WEIGHTS = (0.0, 0.3, 0.5, 0.7, 0.9)


def train(data: Data, C_cls: float = 4.0, C_rank: float = 1.0, C_decide: float = 0.03,
          C_safety: float = 0.01, C_words: float = 4.0, C_reading: float = 0.1, C_part: float = 0.01,
          C_topic_words: float = 30.0, log=print) -> tuple[LearnedModel, dict]:
    """Fit every model; return it and the out-of-pass figures."""
    bank, corpus = data.bank, data.corpus
    n, n_prov = len(bank), len(corpus.provisions)
    position = {p.id: i for i, p in enumerate(corpus.provisions)}
    passes = data.bank_vectors.pass_index
    answered = np.array([q.answered for q in bank])
    gold = data.bank_vectors.labels
    t0 = time.perf_counter()

    # 1. out-of-pass provision classifier and nearest-question signals
    cls_oof = np.zeros((n, n_prov), dtype=np.float32)
    cls_without: dict[int, Linear] = {}
    for f in np.unique(passes):
        cls_f = cls_without[f] = fit_classifier(data.vecs, bank, np.flatnonzero(answered & (passes != f)),
                                                n_prov, position, C_cls)
        cls_oof[passes == f] = cls_f.proba(data.vecs[passes == f])
    log(f"classifier, out of pass: {time.perf_counter() - t0:.1f} s")
    sig = question_signals(data.vecs, data.entries, data.bank_vectors, data.bm25, data.n_words, exclude_pass=passes)
    feats = rank_features(sig, cls_oof, *data.context)  # (N, P, F)

    # 2. ranker, out of pass
    def fit_ranker(rows: np.ndarray) -> Linear:
        X = feats[rows].reshape(-1, feats.shape[2])
        y = gold[rows].reshape(-1)
        return _fit_linear(X, y.astype(int), C_rank)[0]

    rank_oof = np.zeros((n, n_prov), dtype=np.float32)
    rank_without: dict[int, Linear] = {}
    for f in np.unique(passes):
        r = rank_without[f] = fit_ranker(np.flatnonzero(answered & (passes != f)))
        rank_oof[passes == f] = r.proba(feats[passes == f])
    log(f"ranker, out of pass: {time.perf_counter() - t0:.1f} s")
    cls = fit_classifier(data.vecs, bank, np.flatnonzero(answered), n_prov, position, C_cls)
    ranker = fit_ranker(np.flatnonzero(answered))
    route = data.route
    ys_route = np.array([bool(q.safety) for q in route.bank]) if route else np.zeros(0, dtype=bool)

    def route_input(cls_m: Linear, rank_m: Linear, without: int | None) -> np.ndarray:
        """The safety inputs of the route-only questions, read through models (and bank
        neighbours) that did not see pass `without`, as a question of that pass would be."""
        assert route is not None
        hide = None if without is None else np.full(len(route.bank), without)
        s = question_signals(route.vecs, data.entries, data.bank_vectors, route.bm25, route.n_words, hide)
        c = cls_m.proba(route.vecs)
        p = rank_m.proba(rank_features(s, c, *route.context))
        return safety_input(decide_input(s, c, p, route.vecs), p)

    # 3. decision and safety, out of pass
    Xd = decide_input(sig, cls_oof, rank_oof, data.vecs)
    Xs = safety_input(Xd, rank_oof)
    yd = np.array([KINDS.index(q.kind) for q in bank])
    decide_oof = np.zeros((n, len(KINDS)), dtype=np.float32)
    labelled = np.array([q.safety is not None for q in bank])
    ys = np.array([bool(q.safety) for q in bank])
    safety_oof = np.zeros(n, dtype=np.float32)
    words_oof = np.zeros(n, dtype=np.float64)
    texts = [q.query for q in bank]
    route_texts = [q.query for q in route.bank] if route else []

    def words_on(rows: np.ndarray, with_route: bool = True) -> WordModel:
        pick = [texts[i] for i in np.flatnonzero(rows)]
        y = ys[rows]
        if with_route and route:
            pick, y = pick + route_texts, np.concatenate([y, ys_route])
        return fit_words(pick, y.astype(int), C_words, SEED)

    for f in np.unique(passes):
        train_rows = passes != f
        d, classes = _fit_linear(Xd[train_rows], yd[train_rows], C_decide, decision_weights(yd[train_rows]))
        decide_oof[passes == f] = _widen(d, classes, len(KINDS)).proba(Xd[passes == f])
        srows = train_rows & labelled
        Xs_f, ys_f = Xs[srows], ys[srows]
        if route:
            Xs_f = np.concatenate([Xs_f, route_input(cls_without[f], rank_without[f], f)])
            ys_f = np.concatenate([ys_f, ys_route])
        if ys_f.any():
            s, _ = _fit_linear(Xs_f, ys_f.astype(int), C_safety, balanced=True)
            safety_oof[passes == f] = s.proba(Xs[passes == f])
            words_oof[passes == f] = words_on(srows).proba([texts[i] for i in np.flatnonzero(passes == f)])
    # the route-only questions, scored by a safety model trained on the bank alone
    Xs_route = route_input(cls, ranker, None) if route else np.zeros((0, Xs.shape[1]), dtype=np.float32)
    route_oof = (_fit_linear(Xs[labelled], ys[labelled].astype(int), C_safety, balanced=True)[0].proba(Xs_route)
                 if route else np.zeros(0, dtype=np.float32))
    route_words = words_on(labelled, with_route=False).proba(route_texts) if route else np.zeros(0)
    # the word model's share of the second tier's score: the best mean out-of-pass recall at
    # 2-5% false alarms
    word_weight = max(WORD_WEIGHTS, key=lambda w: (np.mean(list(safety_curve(
        (1 - w) * safety_oof + w * words_oof, bank).values())), -w))
    blend_oof = (1 - word_weight) * safety_oof + word_weight * words_oof
    route_blend = (1 - word_weight) * route_oof + word_weight * route_words
    log(f"decision and safety, out of pass: {time.perf_counter() - t0:.1f} s")

    # 3b. topic of an out-of-scope question, out of pass
    oos = np.array([q.kind == "out_of_scope" and bool(q.topic) for q in bank])
    topics = sorted({q.topic for q in bank if q.kind == "out_of_scope" and q.topic})
    yt = np.array([topics.index(q.topic) if oos[i] else -1 for i, q in enumerate(bank)])
    # the open parts of the open-part passes train it too: an open matter asked beside one the
    # code answers; those passes are scored by topic models fitted without them
    parts = data.parts.bank if data.parts else []
    part_vecs = data.parts.vecs if data.parts else np.zeros((0, data.vecs.shape[1]), dtype=np.float32)
    part_open = np.array([q.topic in topics for q in parts], dtype=bool)
    yt_parts = np.array([topics.index(q.topic) if part_open[i] else -1 for i, q in enumerate(parts)], dtype=int)
    part_pass = np.array([q.pass_ for q in parts])

    def fit_topic(bank_rows: np.ndarray, part_rows: np.ndarray) -> Linear:
        X = np.concatenate([data.vecs[bank_rows], part_vecs[part_rows]])
        t_f, classes = _fit_linear(X, np.concatenate([yt[bank_rows], yt_parts[part_rows]]), C_cls, scale=False)
        return _widen(t_f, classes, len(topics))

    part_texts = [q.query for q in parts]

    def fit_topic_words(bank_rows: np.ndarray, part_rows: np.ndarray) -> WordClasses:
        pick = [texts[i] for i in np.flatnonzero(bank_rows)] + [part_texts[i] for i in np.flatnonzero(part_rows)]
        return fit_word_classes(pick, np.concatenate([yt[bank_rows], yt_parts[part_rows]]), len(topics),
                                C_topic_words, SEED)

    vector_oof = np.zeros((n, len(topics)), dtype=np.float32)
    words_topic_oof = np.zeros((n, len(topics)))
    for f in np.unique(passes):
        rows = passes == f
        vector_oof[rows] = fit_topic(oos & ~rows, part_open).proba(data.vecs[rows])
        words_topic_oof[rows] = fit_topic_words(oos & ~rows, part_open).proba([texts[i] for i in np.flatnonzero(rows)])
    part_vector_oof = np.zeros((len(parts), len(topics)), dtype=np.float32)
    part_words_oof = np.zeros((len(parts), len(topics)))
    for g in np.unique(part_pass):
        rows = part_pass == g
        part_vector_oof[rows] = fit_topic(oos, part_open & ~rows).proba(part_vecs[rows])
        part_words_oof[rows] = fit_topic_words(oos, part_open & ~rows).proba(
            [part_texts[i] for i in np.flatnonzero(rows)])
    topic_word_weight, topic_figures = choose_topic_word_weight(
        (vector_oof[oos], part_vector_oof[part_open]), (words_topic_oof[oos], part_words_oof[part_open]),
        (yt[oos], yt_parts[part_open]))
    topic_oof = ((1 - topic_word_weight) * vector_oof + topic_word_weight * words_topic_oof).astype(np.float32)
    part_topic_oof = ((1 - topic_word_weight) * part_vector_oof
                      + topic_word_weight * part_words_oof).astype(np.float32)
    log(f"topic, out of pass: {time.perf_counter() - t0:.1f} s")

    # 4. thresholds on the out-of-pass predictions
    # on the bank's questions only: the route passes are scored by another model (one trained
    # without them) and are mostly safety cases by design, which would tilt the F2 balance
    thresholds = choose_thresholds(rank_oof, gold, answered, decide_oof, safety_oof, ys, labelled)
    thresholds["topic_min"] = topic_threshold(topic_oof[oos], yt[oos])
    thresholds["topic_word_weight"] = float(topic_word_weight)
    thresholds["safety_word_weight"] = float(word_weight)
    thresholds["safety_words_min"] = f2_threshold(blend_oof, ys, labelled, lean=True)
    routed = routes(safety_oof, blend_oof, thresholds)
    left = labelled & ~routed
    thresholds["safety_mention_min"] = mention_threshold(blend_oof, ys, left)

    # 5. final models on everything
    decide, classes = _fit_linear(Xd, yd, C_decide, decision_weights(yd))
    if len(classes) != len(KINDS):
        raise ValueError("the bank needs questions of every kind: " + ", ".join(KINDS))
    safety, _ = _fit_linear(np.concatenate([Xs[labelled], Xs_route]),
                            np.concatenate([ys[labelled], ys_route]).astype(int), C_safety, balanced=True)
    topic = fit_topic(oos, part_open)
    topic_words = fit_topic_words(oos, part_open)
    word_model = words_on(labelled)
    log(f"final models: {time.perf_counter() - t0:.1f} s")
    figures = out_of_pass_figures(bank, rank_oof, gold, decide_oof, routed, blend_oof, thresholds)
    figures["mention"] = mention_figures(blend_oof, ys, left, thresholds["safety_mention_min"])
    figures |= topic_figures
    if route:
        figures |= route_figures(route.bank, routes(route_oof, route_blend, thresholds))
    reading = None
    if data.turns:
        X, right = turn_readings(data, cls, ranker, decide, thresholds["answer_min"])
        reading, reading_thresholds, turn_figures = fit_reading(X, right, data.turns, C_reading)
        thresholds |= reading_thresholds
        figures |= turn_figures
        log(f"choice of reading: {time.perf_counter() - t0:.1f} s")
    open_part = None
    if data.parts:
        open_part, part_threshold, part_figures = fit_open_part(
            data, Xd, decide_oof, (topic_oof, part_topic_oof, words_topic_oof, part_words_oof), topics, ys & ~routed, (cls, ranker, decide),
            thresholds, C_part)
        thresholds["open_part_min"] = part_threshold
        figures |= part_figures
        log(f"open-part model: {time.perf_counter() - t0:.1f} s")
    party, party_words, thresholds["party_word_weight"], party_figures = fit_party(data, C_cls)
    phase, phase_words, thresholds["phase_word_weight"], phase_figures = fit_phase(data, C_cls)
    follow_up_list, follow_up_figures = fit_follow_up_list(data, C_cls)
    list_offer, list_offer_words, offer_thresholds, offer_figures = fit_list_offer(data, C_cls)
    thresholds |= offer_thresholds
    figures |= party_figures | phase_figures | follow_up_figures | offer_figures
    log(f"list choices and offer: {time.perf_counter() - t0:.1f} s")
    decide_short = safety_short = None
    if data.short:
        short_in = short_inputs(data, cls, ranker)
        decide_short, short_thresholds, short_figures = fit_short_decision(
            data, Xd, yd, decide_oof, short_in, decide, thresholds["answer_min"], C_decide)
        thresholds |= short_thresholds
        figures |= short_figures
        short_scores = SafetyScores(Xs, ys, labelled, safety_oof, words_oof)
        safety_short, short_thresholds, short_figures = fit_short_safety(
            data, short_scores, short_in, safety, word_model, thresholds, C_safety)
        thresholds |= short_thresholds
        figures |= short_figures
        log(f"short-message decision and safety route: {time.perf_counter() - t0:.1f} s")
    return (LearnedModel(cls, ranker, decide, safety, topic, word_model, thresholds, {"topics": topics}, reading,
                         decide_short, party, safety_short, phase, follow_up_list, open_part, topic_words,
                         list_offer, list_offer_words, party_words, phase_words), figures)


def _is_list(q: BankQuestion) -> bool:
    return q.kind == "list"


def _list_questions(data: Data, keep: Callable[[BankQuestion], bool] = _is_list
                    ) -> tuple[list[BankQuestion], np.ndarray]:
    """The questions that train the choices of a list (`keep`; the list questions by default):
    those of the bank, of `corpus/questions/lists/` and of the chat turns, with what the choices
    read (`list_input`: a follow-up joined to the message before it, as answering searches it,
    and its message alone)."""
    questions, searched, alone = [], [], []
    for qs, vecs in [(data.bank, data.vecs), *([(data.lists.bank, data.lists.vecs)] if data.lists else [])]:
        for q, v in zip(qs, vecs, strict=True):
            if keep(q):
                questions.append(q)
                searched.append(v)
                alone.append(data.list_alone[q.text] if q.context and data.list_alone else v)
    if data.turns and data.readings:
        for q, a, j in zip(data.turns, data.readings[0].vecs, data.readings[1].vecs, strict=True):
            if keep(q):
                questions.append(q)
                searched.append(j if q.context else a)
                alone.append(a)
    if not questions:
        return [], np.zeros((0, 0), dtype=np.float32)
    return questions, list_input(np.array(searched), [q.role for q in questions], np.array(alone))


def _out_of_pass_proba(X: np.ndarray, y: np.ndarray, names: np.ndarray, C: float, n_classes: int) -> np.ndarray:
    """Each pass's class probabilities (N, `n_classes`; columns are `y`'s labels) by a model
    fitted on the other passes; a fold with two classes fits a binary model, and a fold left
    with one class gives that class all of it."""
    proba = np.zeros((len(y), n_classes))
    for p in np.unique(names):
        fit, rows = names != p, names == p
        if len(np.unique(y[fit])) < 2:
            proba[rows, y[fit][0]] = 1.0
            continue
        m, seen = _fit_linear(X[fit], y[fit], C, scale=False)
        if len(seen) == 2:  # a binary model gives P(the second class) alone
            proba[rows, seen[1]] = m.proba(X[rows])
            proba[rows, seen[0]] = 1.0 - proba[rows, seen[1]]
        else:
            proba[rows] = _widen(m, seen, n_classes).proba(X[rows])
    return proba


def _out_of_pass(X: np.ndarray, y: np.ndarray, names: np.ndarray, C: float, n_classes: int) -> np.ndarray:
    """Each pass's predicted class by a model fitted on the other passes (`_out_of_pass_proba`)."""
    return _out_of_pass_proba(X, y, names, C, n_classes).argmax(axis=1)


def _per_pass(names: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Each pass's rows, then all of them ("all"), for a table of out-of-pass figures."""
    return [*((p, names == p) for p in np.unique(names).tolist()), ("all", np.ones(len(names), dtype=bool))]


#: weights of a word model in a blend with a vector's model that training chooses from (the
#: choices of a list and the list offer)
LIST_WORD_WEIGHTS = (0.0, 0.3, 0.5, 0.7, 1.0)
#: the strength of those word models (C of their logistic regressions)
C_LIST_WORDS = 10.0


def choose_choice_weight(vector: np.ndarray, words_: np.ndarray, y: np.ndarray) -> float:
    """The word model's weight in the blend of class probabilities that is right most often
    out of pass (the lower weight on a tie)."""
    scored = [(float((((1 - w) * vector + w * words_).argmax(axis=1) == y).mean()), w) for w in LIST_WORD_WEIGHTS]
    return max(scored, key=lambda s: (s[0], -s[1]))[1]


def _fit_list_choice(questions: list[BankQuestion], X: np.ndarray, y: np.ndarray, baseline: np.ndarray,
                     classes: tuple[str, ...], name: str, without: str, C: float
                     ) -> tuple[Linear | None, WordClasses | None, float, dict]:
    """Fit one choice of a list (`y`: column of `classes`) from `X` and from the words of each
    message alone, and the word model's weight in their blend (`choose_choice_weight`). Each
    pass is scored by models fitted on the others: the blend (`{name}_accuracy`), the vector's
    model alone (`vector_accuracy`) and a choice made without a model (`baseline`,
    `{without}_accuracy`). None when there are no such questions."""
    if not questions:
        return None, None, 0.0, {}
    n = len(classes)
    texts = [q.text for q in questions]
    names = np.array([q.pass_ for q in questions])
    vector, words_ = _out_of_pass_proba(X, y, names, C, n), np.zeros((len(y), n))
    for p in np.unique(names):
        fit, rows = names != p, names == p
        if len(np.unique(y[fit])) < 2:
            words_[rows, y[fit][0]] = 1.0
            continue
        words_[rows] = fit_word_classes([texts[i] for i in np.flatnonzero(fit)], y[fit], n, C_LIST_WORDS,
                                        SEED).proba([texts[i] for i in np.flatnonzero(rows)])
    w = choose_choice_weight(vector, words_, y)
    predicted = ((1 - w) * vector + w * words_).argmax(axis=1)
    figures = {f"{p} ({name})": {"n": int(pick.sum()), f"{name}_accuracy": float((predicted[pick] == y[pick]).mean()),
                                 "vector_accuracy": float((vector[pick].argmax(axis=1) == y[pick]).mean()),
                                 f"{without}_accuracy": float((baseline[pick] == y[pick]).mean())}
               for p, pick in _per_pass(names)}
    m, seen = _fit_linear(X, y, C, scale=False)
    return _widen(m, seen, n), fit_word_classes(texts, y, n, C_LIST_WORDS, SEED), w, figures


def fit_party(data: Data, C: float) -> tuple[Linear | None, WordClasses | None, float, dict]:
    """Whose obligations a list question asks for, from `list_input` and the message's words,
    fitted on every list question and list request of a chat turn, beside taking the asker's
    own party."""
    questions, X = _list_questions(data)
    keep = [i for i, q in enumerate(questions) if q.party in AUDIENCES]
    questions = [questions[i] for i in keep]
    y = np.array([AUDIENCES.index(q.party) for q in questions], dtype=int)
    asker = np.array([AUDIENCES.index(ROLE_AUDIENCE.get(q.role or "", "student")) for q in questions], dtype=int)
    return _fit_list_choice(questions, X[keep], y, asker, AUDIENCES, "party", "asker", C)


def fit_phase(data: Data, C: float) -> tuple[Linear | None, WordClasses | None, float, dict]:
    """Which phase a list question asks for (or the whole list), from `list_input` and the
    message's words, fitted on the same questions as the party, beside the most common phase of
    the other passes."""
    questions, X = _list_questions(data)
    keep = [i for i, q in enumerate(questions) if list_phase(q.phase) is not None]
    questions = [questions[i] for i in keep]
    y = np.array([LIST_PHASES.index(list_phase(q.phase)) for q in questions], dtype=int)
    names = np.array([q.pass_ for q in questions])
    common = np.array([np.bincount(y[names != p], minlength=len(LIST_PHASES)).argmax() for p in names], dtype=int)
    return _fit_list_choice(questions, X[keep], y, common, LIST_PHASES, "phase", "common", C)


def fit_follow_up_list(data: Data, C: float) -> tuple[Linear | None, dict]:
    """Whether an answered message read with the one before it asks for a whole list or one
    point, from `list_input`, fitted on every such follow-up of the bank, of
    `corpus/questions/lists/` and of the chat turns. Each pass is scored by a model fitted on
    the others, beside the more common of the two in the other passes. None without both kinds."""
    questions, X = _list_questions(data, lambda q: q.answered and q.context is not None)
    y = np.array([q.kind == "list" for q in questions], dtype=int)
    if not questions or y.all() or not y.any():
        return None, {}
    names = np.array([q.pass_ for q in questions])
    predicted = _out_of_pass(X, y, names, C, 2)
    common_of = {p: int(y[names != p].mean() >= 0.5) for p in np.unique(names)}
    common = np.array([common_of[p] for p in names], dtype=int)
    figures = {}
    for p, pick in _per_pass(names):
        lists, points = pick & (y == 1), pick & (y == 0)
        figures[f"{p} (follow-up list)"] = {
            "n": int(pick.sum()), "n_lists": int(lists.sum()),
            "follow_up_accuracy": float((predicted[pick] == y[pick]).mean()),
            "list_recall": float(predicted[lists].mean()) if lists.any() else 0.0,
            "point_recall": float(1 - predicted[points].mean()) if points.any() else 0.0,
            "common_accuracy": float((common[pick] == y[pick]).mean())}
    m, _ = _fit_linear(X, y, C, scale=False)
    return m, figures


#: the share of one-point questions an offer of the whole list may follow, out of pass: an
#: unasked offer costs one sentence, a list request answered as one point costs the list
LIST_OFFER_RATE = 0.02
#: the probabilities the list offer's threshold is chosen from
LIST_OFFER_GRID = tuple(float(t) for t in np.round(np.arange(0.05, 1.0, 0.01), 2))


def offer_threshold(prob: np.ndarray, is_list: np.ndarray, rate: float = LIST_OFFER_RATE) -> float:
    """The lowest threshold of `LIST_OFFER_GRID` at which at most `rate` of the one-point
    questions (`~is_list`) reach `prob`; the highest when none does."""
    points = prob[~is_list]
    return next((t for t in LIST_OFFER_GRID if (points >= t).mean() <= rate), LIST_OFFER_GRID[-1])


def choose_offer_weight(vector: np.ndarray, words_: np.ndarray, is_list: np.ndarray) -> tuple[float, float]:
    """The word model's weight, and its threshold, that find the most list requests out of pass
    with at most `LIST_OFFER_RATE` of the one-point questions offered a list (the lower weight on
    a tie)."""
    def found(w: float) -> tuple[float, float]:
        blend = (1 - w) * vector + w * words_
        t = offer_threshold(blend, is_list)
        return (float((blend[is_list] >= t).mean()) if is_list.any() else 0.0), t

    scored = [(found(w), w) for w in LIST_WORD_WEIGHTS]
    (_, t), w = max(scored, key=lambda s: s[0][0])  # the first, so the lower weight, on a tie
    return w, t


def fit_list_offer(data: Data, C: float) -> tuple[Linear | None, WordModel | None, dict[str, float], dict]:
    """Whether a first message asks for a party's whole list rather than one point, for an
    answer to one point that may offer that list: a logistic regression over `list_input`
    blended with a model of the message's words, fitted on every answered first message of the
    bank, of `corpus/questions/lists/` and of the chat turns (class-balanced: list requests are
    few). Each pass is scored by models fitted on the others; the word model's weight and the
    threshold are chosen on those predictions (`choose_offer_weight`). None without both kinds."""
    questions, X = _list_questions(data, lambda q: q.answered and q.context is None)
    y = np.array([q.kind == "list" for q in questions], dtype=int)
    if not questions or y.all() or not y.any():
        return None, None, {}, {}
    texts = [q.text for q in questions]
    names = np.array([q.pass_ for q in questions])
    vector, words_ = np.zeros(len(y)), np.zeros(len(y))
    for p in np.unique(names):
        fit, rows = names != p, names == p
        if len(np.unique(y[fit])) < 2:
            vector[rows] = words_[rows] = float(y[fit][0])
            continue
        m, _ = _fit_linear(X[fit], y[fit], C, balanced=True, scale=False)
        vector[rows] = m.proba(X[rows])
        words_[rows] = fit_words([texts[i] for i in np.flatnonzero(fit)], y[fit], C_LIST_WORDS, SEED).proba(
            [texts[i] for i in np.flatnonzero(rows)])
    is_list = y == 1
    w, t = choose_offer_weight(vector, words_, is_list)
    offered = (1 - w) * vector + w * words_ >= t
    figures = {}
    for p, pick in _per_pass(names):
        lists, points = pick & is_list, pick & ~is_list
        if not lists.any() and p != "all":
            continue
        figures[f"{p} (list offer)"] = {
            "lists_offered_share": float(offered[lists].mean()) if lists.any() else 0.0,
            "points_offered_share": float(offered[points].mean()) if points.any() else 0.0,
            "n_lists": int(lists.sum()), "lists_offered": int((offered & lists).sum()),
            "n_points": int(points.sum()), "points_offered": int((offered & points).sum())}
    m, _ = _fit_linear(X, y, C, balanced=True, scale=False)
    return m, fit_words(texts, y, C_LIST_WORDS, SEED), {"list_offer_min": t, "list_offer_word_weight": w}, figures


def open_part_threshold(prob: np.ndarray, open_: np.ndarray, can: np.ndarray, kept: np.ndarray) -> float:
    """The threshold of the grid with the best F1 of the notes among the questions that can get
    one (`can`), counting the notes the old rule still gives (`kept`): a note missing from an
    open question and one on a question that asks nothing open weigh alike. The higher on a tie."""
    grid = np.linspace(0.05, 0.95, 19)
    n_open = (can & open_).sum()

    def f1(t: float) -> float:
        noted = can & ((prob >= t) | kept)
        return float(2 * (noted & open_).sum() / max(1, noted.sum() + n_open))

    return float(max(grid, key=lambda t: (f1(t), t)))


def fit_open_part(data: Data, Xd: np.ndarray, decide_oof: np.ndarray, topic_oof: tuple[np.ndarray, ...],
                  topics: list[str], safety_left: np.ndarray, final: tuple[Linear, Linear, Linear],
                  thresholds: dict[str, float], C: float) -> tuple[Linear, float, dict]:
    """Whether a question the decision answers also asks a matter the code leaves open, from the
    decision's inputs: fitted on the bank's answered questions (no) and out-of-scope ones (yes),
    and on the open-part passes (yes where a line names the open part's topic). Those passes are
    read through the final models, as a question nobody wrote into the bank would be. The
    threshold (`open_part_threshold`) is chosen out of pass among the questions that can get a
    note: those the decision answers and whose topic the topic model is sure of. The rule it
    replaces noted them when the decision's out-of-scope share reached the answer threshold.
    `safety_left`: the bank's discrimination situations the safety route leaves (out of pass).
    Inputs: `open_part_input` (the decision's inputs and the topic models' confidence);
    `topic_oof`: the blended topic probabilities of the bank and of the passes, then the word
    model's own of each, all out of pass."""
    cls, ranker, decide = final
    assert data.parts is not None
    parts = data.parts
    Xp, _ = read_through(data, parts, cls, ranker)
    kinds = np.array([q.kind for q in data.bank])
    rows = np.isin(kinds, [*ANSWERED, "out_of_scope"])
    decision = np.concatenate([decide_oof[rows], decide.proba(Xp)])
    topic_prob = np.concatenate([topic_oof[0][rows], topic_oof[1]])
    X = open_part_input(np.concatenate([Xd[rows], Xp]), topic_prob,
                        np.concatenate([topic_oof[2][rows], topic_oof[3]]))
    y = np.concatenate([kinds[rows] == "out_of_scope", [bool(q.topic) for q in parts.bank]])
    names = np.array([*(q.pass_ for q, keep in zip(data.bank, rows, strict=True) if keep),
                      *(q.pass_ for q in parts.bank)])
    oof = np.zeros(len(y))
    for p in np.unique(names):
        fit, _ = _fit_linear(X[names != p], y[names != p].astype(int), C, balanced=True)
        oof[names == p] = fit.proba(X[names == p])
    can = ~_abstains(decision, thresholds["answer_min"]) & (topic_prob.max(axis=1) >= thresholds["topic_min"])
    old = can & (decision[:, KINDS.index("out_of_scope")] >= thresholds["answer_min"])

    def f1(noted: np.ndarray, scope: np.ndarray) -> float:
        hit = (noted & scope & y).sum()
        return float(2 * hit / max(1, (noted & scope).sum() + (can & scope & y).sum()))

    # the old rule still notes a matter whose pointer cites the reporting point (abstain.decide)
    relates = {t.id for t in data.corpus.silent_topics if t.relates_reporting_point}
    carries = np.array([topics[i] in relates for i in topic_prob.argmax(axis=1)])
    left = np.concatenate([safety_left[rows], np.zeros(len(parts.bank), dtype=bool)])
    t = open_part_threshold(oof, y, can, old & carries)
    new = can & ((oof >= t) | (old & carries))
    in_parts = np.isin(names, [q.pass_ for q in parts.bank])
    figures = {}
    for name, pick in (("bank", ~in_parts), ("open-part passes", in_parts)):
        figures[f"{name} (open part)"] = {
            "n": int((pick & can).sum()), "n_open": int((pick & can & y).sum()),
            "noted_open_old": int((pick & old & y).sum()), "noted_open": int((pick & new & y).sum()),
            "noted_answered_old": int((pick & old & ~y).sum()), "noted_answered": int((pick & new & ~y).sum()),
            "f1_old": f1(old, pick), "f1": f1(new, pick),
            "reporting_point_noted_old": int((pick & old & left & carries).sum()),
            "reporting_point_noted": int((pick & new & left & carries).sum())}
    model, _ = _fit_linear(X, y.astype(int), C, balanced=True)
    return model, float(t), figures


def read_through(data: Data, qs: Questions, cls: Linear, ranker: Linear) -> tuple[np.ndarray, np.ndarray]:
    """The decision's input and the ranker's probabilities for questions of a side folder, read
    through the final models and the whole bank, as a question nobody wrote into the bank is."""
    s = question_signals(qs.vecs, data.entries, data.bank_vectors, qs.bm25, qs.n_words)
    c = cls.proba(qs.vecs)
    p = ranker.proba(rank_features(s, c, *qs.context))
    return decide_input(s, c, p, qs.vecs), p


def short_inputs(data: Data, cls: Linear, ranker: Linear) -> tuple[np.ndarray, np.ndarray]:
    """The decision's input and the ranker's probabilities for every line of the short-message
    passes, read through the final models, which never saw them."""
    assert data.short is not None
    return read_through(data, data.short, cls, ranker)


def _short_rows(bank: list[BankQuestion]) -> np.ndarray:
    return np.array([i for i, q in enumerate(bank) if word_count(q.query) <= SHORT_WORDS], dtype=int)


def fit_short_decision(data: Data, Xd: np.ndarray, yd: np.ndarray, decide_oof: np.ndarray,
                       short_in: tuple[np.ndarray, np.ndarray], decide: Linear, answer_min: float,
                       C: float) -> tuple[Linear, dict[str, float], dict]:
    """The decision for messages of at most `SHORT_WORDS` words, fitted on the bank's short
    questions (their out-of-pass inputs) and the short-message passes (`short_in`). Each pass is
    scored by a short decision fitted on the others, beside the general decision on the same
    lines; the threshold is chosen on those predictions as the general one is."""
    assert data.short is not None
    sh = data.short
    X_short = short_in[0]
    mine = _short_rows(data.bank)
    X = np.concatenate([Xd[mine], X_short])
    y = np.concatenate([yd[mine], [KINDS.index(q.kind) for q in sh.bank]])
    names = [data.bank[i].pass_ for i in mine] + [f"{q.pass_} (short)" for q in sh.bank]
    group = np.unique(names, return_inverse=True)[1]
    answered = np.isin(y, [KINDS.index(k) for k in ANSWERED])
    oof = np.zeros((len(y), len(KINDS)), dtype=np.float32)
    for g in np.unique(group):
        rows = group != g
        d, classes = _fit_linear(X[rows], y[rows], C, decision_weights(y[rows]))
        oof[group == g] = _widen(d, classes, len(KINDS)).proba(X[group == g])
    general = np.concatenate([decide_oof[mine], decide.proba(X_short)])
    threshold = abstention_threshold(oof, answered)
    d, classes = _fit_linear(X, y, C, decision_weights(y))
    figures = {}
    for name in [*sorted(set(names)), "all"]:
        rows = np.array([name in ("all", n) for n in names])
        figures[f"{name} (≤{SHORT_WORDS} words)"] = {
            "n": int(rows.sum()),
            **short_figures(oof[rows], y[rows], threshold, ""),
            **short_figures(general[rows], y[rows], answer_min, "general_"),
        }
    return (_widen(d, classes, len(KINDS)), {"short_words": float(SHORT_WORDS), "answer_min_short": threshold},
            figures)


@dataclass
class SafetyScores:
    """The bank's safety inputs and labels (`labelled`: has a label) and its out-of-pass scores
    by the safety model and the word model."""

    X: np.ndarray
    y: np.ndarray
    labelled: np.ndarray
    oof: np.ndarray
    words_oof: np.ndarray


def fit_short_safety(data: Data, bank: SafetyScores, short_in: tuple[np.ndarray, np.ndarray], safety: Linear,
                     words: WordModel, thresholds: dict[str, float],
                     C: float) -> tuple[Linear, dict[str, float], dict]:
    """The safety route for messages of at most `SHORT_WORDS` words, fitted on the bank's
    labelled short questions (their out-of-pass inputs) and the short-message passes
    (`short_in`). Each pass is scored by a short safety model fitted on the others, beside the
    general route on the same lines; both thresholds are chosen on those predictions by F2, as
    the general ones are, and the word model keeps the general route's weight."""
    assert data.short is not None
    keep = np.array([q.safety is not None for q in data.short.bank])
    sh = [q for q, k in zip(data.short.bank, keep, strict=True) if k]
    mine = np.array([i for i in _short_rows(data.bank) if bank.labelled[i]], dtype=int)
    X_sh = safety_input(*short_in)[keep]
    X = np.concatenate([bank.X[mine], X_sh])
    y = np.concatenate([bank.y[mine], [bool(q.safety) for q in sh]])
    names = [data.bank[i].pass_ for i in mine] + [f"{q.pass_} (short)" for q in sh]
    word_p = np.concatenate([bank.words_oof[mine], words.proba([q.query for q in sh])])
    general = np.concatenate([bank.oof[mine], safety.proba(X_sh)])
    group = np.unique(names, return_inverse=True)[1]
    oof = np.zeros(len(y), dtype=np.float32)
    for g in np.unique(group):
        rows = group != g
        if y[rows].any():
            oof[group == g] = _fit_linear(X[rows], y[rows].astype(int), C, balanced=True)[0].proba(X[group == g])
    w = thresholds["safety_word_weight"]
    every = np.ones(len(y), dtype=bool)
    mins = {"safety_min_short": f2_threshold(oof, y, every),
            "safety_words_min_short": f2_threshold((1 - w) * oof + w * word_p, y, every, lean=True)}
    blend = (1 - w) * oof + w * word_p
    routed = routes(oof, blend,
                    {"safety_min": mins["safety_min_short"], "safety_words_min": mins["safety_words_min_short"]})
    mins["safety_mention_min_short"] = mention_threshold(blend, y, ~routed)
    routed_general = routes(general, (1 - w) * general + w * word_p, thresholds)
    figures = {}
    for name in [*sorted(set(names)), "all"]:
        rows = np.array([name in ("all", n) for n in names])
        pos, neg = rows & y, rows & ~y
        figures[f"{name} (≤{SHORT_WORDS} words, safety)"] = {
            "n": int(rows.sum()), "n_safety": int(pos.sum()),
            **{f"{prefix}safety_{what}": float(r[which].mean()) if which.any() else 0.0
               for prefix, r in (("", routed), ("general_", routed_general))
               for what, which in (("recall", pos), ("false_alarm", neg))},
        }
    return _fit_linear(X, y.astype(int), C, balanced=True)[0], mins, figures


def short_figures(decide: np.ndarray, y: np.ndarray, t: float, prefix: str) -> dict[str, float]:
    """Abstention figures of one decision on short messages, and how often a question the code
    leaves open is refused as not about the code at all (`as_unrelated`)."""
    answered = np.isin(y, [KINDS.index(k) for k in ANSWERED])
    refused = _abstains(decide, t)
    open_ = y == KINDS.index("out_of_scope")
    as_unrelated = refused & (decide[:, 2:].argmax(axis=1) + 2 != KINDS.index("out_of_scope"))

    def mean(x: np.ndarray) -> float:
        return float(x.mean()) if len(x) else 0.0

    return {f"{prefix}abstention_accuracy": mean(refused != answered),
            f"{prefix}false_abstention": mean(refused[answered]),
            f"{prefix}missed_abstention": mean(~refused[~answered]),
            f"{prefix}as_unrelated": mean(as_unrelated[open_])}


def turn_readings(data: Data, cls: Linear, ranker: Linear, decide: Linear,
                  answer_min: float) -> tuple[np.ndarray, np.ndarray]:
    """The reading model's input for every chat turn, both readings searched through the final
    models and the whole bank, as answering searches them; and whether each reading's answer is
    right (N, 2: alone, joined): its first provision answers the message, or it refuses a
    message the code does not answer."""
    from assistant.answering.conversation import is_follow_up

    assert data.readings is not None and data.turns is not None
    position = {p.id: i for i, p in enumerate(data.corpus.provisions)}
    gold = np.zeros((len(data.turns), len(position)), dtype=bool)
    for i, q in enumerate(data.turns):
        gold[i, [position[pid] for pid in q.ids]] = True
    answered = np.array([q.answered for q in data.turns])

    def read(qs: Questions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        s = question_signals(qs.vecs, data.entries, data.bank_vectors, qs.bm25, qs.n_words)
        c = cls.proba(qs.vecs)
        p = ranker.proba(rank_features(s, c, *qs.context))
        d_in = decide_input(s, c, p, qs.vecs)
        d = decide.proba(d_in)
        refused = _abstains(d, answer_min)
        right = np.where(answered, ~refused & gold[np.arange(len(p)), p.argmax(axis=1)], refused)
        return reading_part(d_in, d), p, qs.vecs, right

    (a, pa, va, ra), (j, pj, vj, rj) = (read(qs) for qs in data.readings)
    opening = np.array([is_follow_up(q.text) for q in data.turns])
    return reading_input(a, j, pa, pj, va, vj, opening), np.stack([ra, rj], axis=1)


#: the grid the reading thresholds are chosen from
READING_GRID = tuple(float(t) for t in np.round(np.arange(0.2, 0.81, 0.05), 2))


def fit_reading(X: np.ndarray, right: np.ndarray, turns: list[BankQuestion],
                C: float) -> tuple[Linear, dict[str, float], dict]:
    """Fit the choice of reading on every chat turn. Each turns pass is read by a model fitted on
    the others; on those predictions the two thresholds (for a message that opens like a
    follow-up by the lexicon, and for one that does not) are the pair whose readings give the
    most right answers, of equals the one that reads fewest messages otherwise than the lexicon.
    Returns the model, the thresholds and each pass's figures beside the lexicon's."""
    from assistant.answering.conversation import is_follow_up

    y = np.array([q.context is not None for q in turns])
    if y.all() or not y.any():
        raise ValueError("the chat turns need messages that lean on the one before them and messages that do not")
    passes = np.array([q.pass_ for q in turns])
    lexicon = np.array([is_follow_up(q.text) for q in turns])
    names = sorted(set(passes))
    if len(names) < 2:
        raise ValueError("the chat turns need two passes or more, to be scored out of pass")
    p = np.zeros(len(turns))
    for name in names:
        rows = passes == name
        p[rows] = _fit_linear(X[~rows], y[~rows].astype(int), C)[0].proba(X[rows])

    def joins(t_open: float, t_other: float) -> np.ndarray:
        return np.where(lexicon, p >= t_open, p >= t_other)

    def answers(join: np.ndarray) -> np.ndarray:
        return np.where(join, right[:, 1], right[:, 0])

    t_open, t_other = max(((a, b) for a in READING_GRID for b in READING_GRID),
                          key=lambda t: (answers(joins(*t)).mean(), -(joins(*t) != lexicon).sum()))
    chosen = joins(t_open, t_other)
    out = {f"{name} (chat turns)": _reading_figures(chosen[rows], y[rows], lexicon[rows],
                                                    answers(chosen)[rows], answers(lexicon)[rows])
           for name in names for rows in [passes == name]}
    model, _ = _fit_linear(X, y.astype(int), C)
    return model, {"follows_min_opening": t_open, "follows_min": t_other}, out


def _reading_figures(joins: np.ndarray, follows: np.ndarray, lexicon: np.ndarray, right: np.ndarray,
                     lexicon_right: np.ndarray) -> dict:
    return {"n": int(len(follows)),
            "reading_accuracy": float((joins == follows).mean()),
            "follow_up_recall": float(joins[follows].mean()) if follows.any() else 0.0,
            "misread_as_follow_up": float(joins[~follows].mean()) if (~follows).any() else 0.0,
            "answers_right": float(right.mean()),
            "lexicon_accuracy": float((lexicon == follows).mean()),
            "lexicon_recall": float(lexicon[follows].mean()) if follows.any() else 0.0,
            "lexicon_misread": float(lexicon[~follows].mean()) if (~follows).any() else 0.0,
            "lexicon_answers_right": float(lexicon_right.mean())}


def decision_weights(y: np.ndarray) -> np.ndarray:
    """Sample weights that balance answered questions against each kind of refusal, while a
    list question keeps its natural share of the answered ones: balancing list against answer
    too would make every "what must we do" question a list."""
    groups = np.where(np.isin(y, [KINDS.index(k) for k in ANSWERED]), -1, y)
    labels, counts = np.unique(groups, return_counts=True)
    per = dict(zip(labels.tolist(), (len(y) / (len(labels) * counts)).tolist(), strict=True))
    return np.array([per[g] for g in groups.tolist()])


def _widen(lin: Linear, classes: np.ndarray, n: int) -> Linear:
    """A classifier's columns placed at their class positions among n (absent classes: none)."""
    W = np.zeros((lin.W.shape[0], n), dtype=np.float32)
    b = np.full(n, -30.0, dtype=np.float32)
    W[:, classes], b[classes] = lin.W, lin.b
    return Linear(W, b, lin.mean, lin.scale)


def choose_topic_word_weight(vector: tuple[np.ndarray, ...], words_: tuple[np.ndarray, ...],
                             truth: tuple[np.ndarray, ...]) -> tuple[float, dict]:
    """The word model's share of the topic probabilities: the weight of `TOPIC_WORD_WEIGHTS`
    that names the right topic most often out of pass, over the bank's out-of-scope questions
    and the open parts of the open-part passes together (the lower weight on a tie). Each tuple
    holds (bank, open-part passes); the figures give each group's accuracy with the vector's
    model alone and blended."""
    def right(w: float, group: int) -> np.ndarray:
        return ((1 - w) * vector[group] + w * words_[group]).argmax(axis=1) == truth[group]

    groups = range(len(truth))
    weight = max(TOPIC_WORD_WEIGHTS, key=lambda w: (sum(int(right(w, g).sum()) for g in groups), -w))
    names = ("bank", "open-part passes")
    figures = {f"{names[g]} (topic)": {"n": int(len(truth[g])), "right_vector": int(right(0.0, g).sum()),
                                       "right": int(right(weight, g).sum())} for g in groups}
    return weight, figures


def topic_threshold(prob: np.ndarray, truth: np.ndarray, precision: float = 0.9) -> float:
    """The lowest confidence at which the named topic is right `precision` of the time, out of
    pass: below it an abstention points to no topic rather than to a wrong one."""
    best, right = prob.max(axis=1), prob.argmax(axis=1) == truth
    for t in np.linspace(0.05, 0.95, 19):
        shown = best >= t
        if shown.any() and right[shown].mean() >= precision:
            return float(t)
    return 0.95


def _abstains(decide: np.ndarray, t: float) -> np.ndarray:
    return decide[:, :2].sum(axis=1) < t


def choose_thresholds(rank: np.ndarray, gold: np.ndarray, answered: np.ndarray, decide: np.ndarray,
                      safety: np.ndarray, ys: np.ndarray, labelled: np.ndarray) -> dict[str, float]:
    """Citation cut-off (best mean F1 of the cited set), abstention (best accuracy with false
    abstention at most 3%, the fewest false abstentions within a standard error of it) and safety (best F2: a missed safety question costs more than a
    needless pointer to the reporting point)."""
    rows = np.flatnonzero(answered)
    best = (-1.0, 0.0, 0.0)
    for min_prob in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4):
        for ratio in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            f1 = []
            for r in rows:
                cited = set(_citations(rank[r], min_prob, ratio))
                g = set(np.flatnonzero(gold[r]))
                hit = len(cited & g)
                f1.append(2 * hit / (len(cited) + len(g)))
            if np.mean(f1) > best[0]:
                best = (float(np.mean(f1)), min_prob, ratio)
    return {"cite_min": best[1], "cite_ratio": best[2], "answer_min": abstention_threshold(decide, answered),
            "safety_min": f2_threshold(safety, ys, labelled)}


def abstention_threshold(decide: np.ndarray, answered: np.ndarray) -> float:
    """The answer threshold with the best accuracy and false abstention at most 3%: accuracy is
    flat over a range of thresholds, so of those within one standard error of the best, the one
    that refuses the fewest answerable questions."""
    scored = []
    for t in np.linspace(0.05, 0.95, 91):
        a = _abstains(decide, t)
        if a[answered].mean() <= 0.03:
            scored.append((float((a == ~answered).mean()), float(a[answered].mean()), float(t)))
    top = max(acc for acc, _, _ in scored) if scored else 0.0
    se = (top * (1 - top) / len(answered)) ** 0.5
    return min(((false, t) for acc, false, t in scored if acc >= top - se), default=(0.0, 0.5))[1]


def f2_threshold(safety: np.ndarray, ys: np.ndarray, labelled: np.ndarray, lean: bool = False) -> float:
    """The safety threshold with the best F2: a missed safety question counts four times a
    needless pointer to the reporting point. F2 is flat near its best, so its argmax moves with
    any new pass; `lean` takes the lowest threshold within one standard error of the best instead
    (over 200 bootstrap resamples of the questions, fixed seed), for the tiers that name the
    reporting point after the answer rather than before it, where a needless mention displaces
    nothing."""
    grid = np.linspace(0.02, 0.98, 49)
    s, y = safety[labelled], ys[labelled]

    def f2(rows: np.ndarray) -> np.ndarray:
        found = s[rows][None, :] >= grid[:, None]
        tp = (found & y[rows]).sum(axis=1).astype(float)
        fn = (~found & y[rows]).sum(axis=1).astype(float)
        fp = (found & ~y[rows]).sum(axis=1).astype(float)
        return 5 * tp / np.maximum(5 * tp + 4 * fn + fp, 1.0)

    scores = f2(np.arange(s.size))
    best = int(scores.argmax())
    if not lean or not s.size:
        return float(grid[best])
    rng = np.random.default_rng(0)
    spread = np.array([f2(rng.integers(0, s.size, s.size))[best] for _ in range(200)]).std()
    return float(grid[int(np.flatnonzero(scores >= scores[best] - spread)[0])])


def mention_threshold(blend: np.ndarray, ys: np.ndarray, left: np.ndarray) -> float:
    """The blended safety score at which a question the route does not take, answered or
    refused, still names the reporting point: the best F2 among the labelled questions the route
    leaves (`left`, out of pass), so a discrimination situation the route misses is not sent away
    empty-handed. Without such a situation among them, no question names it (1.0)."""
    if not (ys & left).any():
        return 1.0
    return f2_threshold(blend, ys, left, lean=True)


def mention_figures(blend: np.ndarray, ys: np.ndarray, left: np.ndarray, t: float) -> dict:
    """How many of the questions the route leaves reach the mention threshold, out of pass."""
    pos, neg = left & ys, left & ~ys
    return {"n_safety": int(pos.sum()), "safety_named": int((blend[pos] >= t).sum()),
            "n_other": int(neg.sum()), "other_named": int((blend[neg] >= t).sum())}


def routes(safety: np.ndarray, blend: np.ndarray, t: dict[str, float]) -> np.ndarray:
    """Which questions take the safety route: the safety model sure on its own (the reporting
    point leads), or with the word model's second opinion (the reporting point follows)."""
    return (safety >= t["safety_min"]) | (blend >= t["safety_words_min"])


def out_of_pass_figures(bank: list[BankQuestion], rank: np.ndarray, gold: np.ndarray, decide: np.ndarray,
                        routed: np.ndarray, safety: np.ndarray, t: dict[str, float]) -> dict:
    """Each pass scored by models that never saw it; `routed`: which took the safety route,
    `safety`: the score whose recall curve is reported."""
    out: dict[str, dict] = {}
    passes = sorted({q.pass_ for q in bank})
    abstained = _abstains(decide, t["answer_min"])
    for name in [*passes, "all"]:
        idx = [i for i, q in enumerate(bank) if name in ("all", q.pass_)]
        ans = [i for i in idx if bank[i].answered]
        una = [i for i in idx if not bank[i].answered]
        cited = {i: _citations(rank[i], t["cite_min"], t["cite_ratio"]) for i in ans}
        order = {i: np.argsort(-rank[i], kind="stable")[:3] for i in ans}
        saf = [i for i in idx if bank[i].safety]
        saf_ok = [i for i in saf if routed[i]]
        saf_neg = [i for i in idx if bank[i].safety is False]
        out[name] = {
            "n": len(idx),
            "hit@1": float(np.mean([gold[i, order[i][0]] for i in ans])) if ans else 0.0,
            "hit@3": float(np.mean([gold[i, order[i]].any() for i in ans])) if ans else 0.0,
            "cited_hit": float(np.mean([gold[i, cited[i]].any() for i in ans])) if ans else 0.0,
            "citation_precision": float(np.mean([gold[i, cited[i]].mean() for i in ans])) if ans else 0.0,
            "abstention_accuracy": float(np.mean([abstained[i] != bank[i].answered for i in idx])),
            "false_abstention": float(np.mean([abstained[i] for i in ans])) if ans else 0.0,
            "missed_abstention": float(np.mean([not abstained[i] for i in una])) if una else 0.0,
            "safety_recall": len(saf_ok) / len(saf) if saf else 0.0,
            "safety_false_alarm": float(np.mean([routed[i] for i in saf_neg])) if saf_neg else 0.0,
        }
    out["all"]["safety_curve"] = safety_curve(safety, bank)
    return out


def route_figures(route: list[BankQuestion], routed: np.ndarray) -> dict:
    """Each route-only pass scored by safety models trained on the bank alone."""
    out: dict[str, dict] = {}
    for name in sorted({q.pass_ for q in route}):
        pos = [r for r, q in zip(routed, route, strict=True) if q.pass_ == name and q.safety]
        neg = [r for r, q in zip(routed, route, strict=True) if q.pass_ == name and not q.safety]
        out[f"{name} (safety only)"] = {
            "n": len(pos) + len(neg),
            "safety_recall": float(np.mean(pos)) if pos else 0.0,
            "safety_false_alarm": float(np.mean(neg)) if neg else 0.0,
        }
    return out


#: false-alarm rates at which the training report gives the safety model's recall
FALSE_ALARM_RATES = (0.02, 0.03, 0.04, 0.05)


def safety_curve(safety: np.ndarray, bank: list[BankQuestion]) -> dict[str, float]:
    """The safety model's out-of-pass recall at fixed false-alarm rates, so two models can be
    compared whatever threshold each one's F2 picked."""
    pos = np.array([s for s, q in zip(safety, bank, strict=True) if q.safety])
    neg = np.array([s for s, q in zip(safety, bank, strict=True) if q.safety is False])
    if not len(pos) or not len(neg):
        return {}
    return {f"{fa:g}": float((pos >= np.quantile(neg, 1 - fa)).mean()) for fa in FALSE_ALARM_RATES}


TRAINING_THREADS = 2


def run(corpus: Corpus, bank_dir: Path, embeddings: object, expected: dict, log=print) -> tuple[LearnedModel, dict]:
    """Load the bank, train, and stamp the model with what it was trained on."""
    ps = load_passes(bank_dir, set(corpus.by_id))
    bank, route, turns, short, lists, parts = ps.bank, ps.route, ps.turns, ps.short, ps.lists, ps.parts
    log(f"{len(bank)} bank questions in {len({q.pass_ for q in bank})} passes, "
        f"{len(route)} more for the safety route only, {len(turns)} chat turns for the choice of reading, "
        f"{len(short)} short messages for the short-message decision, {len(lists)} list questions for the "
        f"choices of party and phase, {len(parts)} answered questions for the open-part model")
    # BLAS results depend on how many threads split the work, and the thresholds are picked on a
    # grid: a fixed count keeps training reproducible whatever the caller set for answering
    with threadpool_limits(limits=TRAINING_THREADS, user_api="blas"):
        data = prepare(corpus, bank, embeddings, route, turns, short, lists, parts)
        model, figures = train(data, log=log)
    model.meta = {**model.meta, **expected, "pids": [p.id for p in corpus.provisions], "figures": figures}
    return model, figures


def _section(intro: str, rows: dict[str, dict], cols: tuple[str, ...], counts: tuple[str, ...] = ("n",)) -> list[str]:
    """One table of the training report: what it shows, then a row per pass of figures and counts."""
    return ["", intro, "", "| pass | " + " | ".join([*cols, *counts]) + " |", "|---|" + "---|" * (len(cols) + len(counts)),
            *(f"| {name} | " + " | ".join([*(f"{m[k]:.3f}" for k in cols), *(str(int(m[k])) for k in counts)]) + " |"
              for name, m in rows.items())]


def _sections() -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """The training report's tables after the first: the figure that marks a row as one of its
    rows, what the table shows, its figures and its counts."""
    short_cols = ("abstention_accuracy", "false_abstention", "missed_abstention", "as_unrelated")
    return [
        ("reading_accuracy",
         "Choice of reading for a chat message (with the message before it, or alone): each "
         "pass of `corpus/questions/turns/` scored by a reading model fitted on the others, "
         "beside the lexicon's follow-up openings (`lexicon_*`) on the same lines. "
         "`misread_as_follow_up`: a message with its own subject read with the one before it; "
         "`answers_right`: the chosen reading's first provision answers the message, or it "
         "refuses one the code does not answer. The thresholds `follows_min_opening` (a "
         "message that opens like a follow-up) and `follows_min` were chosen on these "
         "predictions.",
         ("reading_accuracy", "follow_up_recall", "misread_as_follow_up", "answers_right",
          "lexicon_accuracy", "lexicon_recall", "lexicon_misread", "lexicon_answers_right"), ("n",)),
        ("party_accuracy",
         "Whose obligations a list question asks for (the student's, the company's or the school's): "
         "each pass's list questions (those of the bank, the passes of `corpus/questions/lists/`, "
         "which train the choices of a list only, and the chat turns' list requests) scored by a party "
         "model fitted on the other passes, beside taking the asker's own party (`asker_accuracy`). "
         "Both choices read a follow-up joined to the message before it and alone, and the words of the "
         "message alone: `vector_accuracy` is the vectors' model without the word model, which training "
         "weights in (`party_word_weight`, `phase_word_weight`) as the blend is right most often here.",
         ("party_accuracy", "vector_accuracy", "asker_accuracy"), ("n",)),
        ("phase_accuracy",
         "Which phase a list question asks for (before the placement, during it, discrimination, or "
         "the whole list): the same list questions, scored by a phase model fitted on the other "
         "passes, beside taking the most common phase of the other passes (`common_accuracy`).",
         ("phase_accuracy", "vector_accuracy", "common_accuracy"), ("n",)),
        ("follow_up_accuracy",
         "Whether an answered message read with the one before it asks for a whole list or one point: "
         "every such follow-up of the bank, of `corpus/questions/lists/` and of the chat turns, scored "
         "by a follow-up model fitted on the other passes, beside the more common of the two in the "
         "other passes (`common_accuracy`). `list_recall`: list requests answered as lists; "
         "`point_recall`: one-point follow-ups answered as one point.",
         ("follow_up_accuracy", "list_recall", "point_recall", "common_accuracy"), ("n_lists", "n")),
        ("lists_offered_share",
         "Offers of the whole list: every answered first message of the bank, of "
         "`corpus/questions/lists/` and of the chat turns, list requests (`n_lists`) and one-point "
         "questions (`n_points`), scored by a list-offer model fitted on the other passes, and how "
         "many of each reach `list_offer_min`: the lowest threshold at which at most "
         f"{LIST_OFFER_RATE:.0%} of the one-point questions of all passes do, with the word model's "
         "weight (`list_offer_word_weight`) that finds the most list requests there. Answering "
         "asks the model only of a message the decision answers as one point.",
         ("lists_offered_share", "points_offered_share"), ("n_lists", "lists_offered", "n_points", "points_offered")),
        ("right_vector",
         "Topic of a matter the code leaves open: the bank's out-of-scope questions, each pass scored by "
         "topic models fitted on the other passes, and the open parts of the open-part passes, each "
         "scored by models fitted without its pass. `right_vector`: the right topic first by the model "
         "over the question's vector alone; `right`: blended with the model over its words and word "
         "pairs at `topic_word_weight`, the weight that names the most right topics here. The "
         "threshold `topic_min` was chosen on the blend.",
         (), ("n", "right_vector", "right")),
        ("noted_open",
         "Notes for an open part: the questions the decision answers (out of pass) and whose topic the "
         "topic model is sure of, which are the ones that can get a note saying where the open matter "
         "is settled. `n_open`: of them, those that ask a matter the code leaves open (the bank's "
         "out-of-scope questions; the open-part passes' lines with a topic); `noted_open`: those noted "
         "by the open-part model, each pass scored by a model fitted on the other passes; "
         "`noted_answered`: the others noted; `*_old`: the same with the note given when the "
         "decision's out-of-scope share reaches the answer threshold. The threshold `open_part_min` "
         "was chosen on these predictions: the best F1 of the notes, counting those of that rule, which "
         "still notes a matter whose pointer cites the reporting point. "
         "`reporting_point_noted`: discrimination situations the safety route leaves, noted with such "
         "a matter.",
         ("f1", "f1_old"), ("n", "n_open", "noted_open", "noted_open_old", "noted_answered", "noted_answered_old",
                            "reporting_point_noted", "reporting_point_noted_old")),
        ("general_abstention_accuracy",
         f"Decision for short messages (at most {SHORT_WORDS} words): the bank's short questions and each "
         "pass of `corpus/questions/short/`, scored by a short-message decision fitted on the other "
         "passes, beside the general decision (`general_*`, itself out of pass) on the same lines. "
         "`as_unrelated`: a question the code leaves open, refused as not about the code at all "
         "instead of with where to look. The threshold `answer_min_short` was chosen on these "
         "predictions.", (*short_cols, *(f"general_{c}" for c in short_cols)), ("n",)),
        ("general_safety_recall",
         f"Safety route for short messages (at most {SHORT_WORDS} words): the bank's labelled short "
         "questions and each pass of `corpus/questions/short/`, scored by a short-message safety model "
         "fitted on the other passes, beside the general safety route (`general_*`: out of pass on the "
         "bank's lines; trained without the short passes) on the same lines. A line counts as routed "
         "by either tier. The thresholds `safety_min_short` and `safety_words_min_short` were chosen on "
         "these predictions.",
         ("safety_recall", "safety_false_alarm", "general_safety_recall", "general_safety_false_alarm"),
         ("n_safety", "n")),
    ]


def report(figures: dict, thresholds: dict[str, float], meta: dict) -> str:
    """The out-of-pass figures as Markdown (eval/training.md)."""
    keys = ("n", "hit@1", "hit@3", "cited_hit", "citation_precision", "abstention_accuracy",
            "false_abstention", "missed_abstention", "safety_recall", "safety_false_alarm")
    lines = ["# Training report: the learned ranker and decision, validated across passes", "",
             f"Written by `stagecode train` for embeddings `{meta.get('embeddings')}` on bank `{meta.get('bank')}`.",
             "Each row is one writing pass of `corpus/questions/`, scored by models trained on the other "
             "passes (features computed without that pass's questions); `all` pools those predictions. "
             "A pass of `corpus/questions/safety/` trains the safety route only; it is scored by safety "
             "models trained on the bank alone. `safety_recall` and `safety_false_alarm` count the "
             "questions that take the safety route by either tier (the safety model at `safety_min`, or "
             "its blend with the word model at `safety_words_min`). "
             "`cited_hit`: a gold provision among those the answer cites. The thresholds below were "
             "chosen on these out-of-pass predictions.", "",
             "| pass | " + " | ".join(keys[1:]) + " | n |", "|---|" + "---|" * len(keys)]
    sections = _sections()
    for name, m in figures.items():
        if name == "mention" or any(marker in m for marker, *_ in sections):
            continue
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" if k in m else "—" for k in keys[1:])
                     + f" | {int(m['n'])} |")
    for marker, intro, cols, counts in sections:
        if rows := {name: m for name, m in figures.items() if marker in m}:
            lines += _section(intro, rows, cols, counts)
    lines += ["", "Thresholds: " + ", ".join(f"`{k}` = {v:.3g}" for k, v in thresholds.items()), ""]
    if m := figures.get("mention"):
        lines += [f"The route left {m['n_safety']} discrimination situations and {m['n_other']} other labelled "
                  f"questions (out of pass); at `safety_mention_min` an answer or refusal still names the "
                  f"reporting point: {m['safety_named']} of the {m['n_safety']} and {m['other_named']} of the "
                  f"{m['n_other']}.", ""]
    if curve := figures.get("all", {}).get("safety_curve"):
        lines += ["Safety model blended with the word model, all passes: recall "
                  + " / ".join(f"{v:.3f}" for v in curve.values())
                  + " at false-alarm rates " + " / ".join(curve) + " (out of pass).", ""]
    return "\n".join(lines)
