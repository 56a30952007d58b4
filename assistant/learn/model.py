"""The learned models as plain arrays, applied with NumPy: a provision classifier over the
question vector, a ranker over (question, provision) features, the answer/abstain decision and
the safety route (with a second opinion from the question's words). scikit-learn fits them
(train.py); answering needs only NumPy, so a question never waits for scikit-learn to import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from assistant.domain import AUDIENCES, LIST_PHASES
from assistant.errors import IndexBuildError
from assistant.learn.words import WordClasses, WordModel


class SafetyScore(NamedTuple):
    """How sure the safety route is of one question: the safety model alone and blended with the
    word model, each with the threshold it is read against."""

    alone: float
    blended: float
    alone_min: float
    blended_min: float
    #: below the route: the blended score at which an answer or refusal still names the reporting point
    #: (1.0, never, for a model trained without it)
    mention_min: float = 1.0


@dataclass
class Linear:
    """A (multinomial or binary) logistic regression: standardise, then X @ W + b."""

    W: np.ndarray  # (features, classes); one column for a binary model
    b: np.ndarray  # (classes,)
    mean: np.ndarray  # (features,)
    scale: np.ndarray  # (features,)

    def logits(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean) / self.scale) @ self.W + self.b

    def proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (N, classes); a binary model gives P(positive) as (N,)."""
        z = self.logits(X)
        if z.shape[-1] == 1:
            return 1.0 / (1.0 + np.exp(-z[..., 0]))
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)


#: the arrays of a `Linear`, as saved
LINEAR_ARRAYS = ("W", "b", "mean", "scale")
PARTS = ("cls", "ranker", "decide", "safety", "topic")
#: parts a model trained without chat turns, short-message passes, list questions or open-part
#: passes does not have
OPTIONAL_PARTS = ("reading", "decide_short", "party", "safety_short", "phase", "follow_up_list", "open_part",
                  "list_offer")
WORD_ARRAYS = ("terms", "idf", "coef")
#: the optional word models of several classes (`WordClasses`)
WORD_CLASS_PARTS = ("topic_words", "party_words", "phase_words")


@dataclass
class LearnedModel:
    """Everything learned from the bank, with what it was trained on (`meta`)."""

    cls: Linear
    ranker: Linear
    decide: Linear
    safety: Linear
    topic: Linear  # which out-of-scope topic (meta["topics"] names the columns)
    safety_words: WordModel | None  # the safety route's second opinion, from the question's words
    thresholds: dict[str, float]
    meta: dict = field(default_factory=dict)
    #: whether a chat message leans on the one before it, from both readings of it (None: a
    #: model trained without chat turns, which reads follow-ups by the lexicon's openings)
    reading: Linear | None = None
    #: the answer/abstain decision for a message of at most `thresholds["short_words"]` words,
    #: trained on such messages (None: a model trained without short-message passes)
    decide_short: Linear | None = None
    #: whose obligations a list question asks for (columns: `AUDIENCES`), which need not be the
    #: asker's: a coordinator may ask what a company must arrange (None: the asker's own)
    party: Linear | None = None
    #: the safety route for a message of at most `thresholds["short_words"]` words, trained on
    #: such messages (None: a model trained without short-message passes)
    safety_short: Linear | None = None
    #: which phase a list question asks for, or the whole list (columns: `LIST_PHASES`; None:
    #: the phase most of its first hits share)
    phase: Linear | None = None
    #: whether a chat message read with the one before it asks for a whole list or one point,
    #: from both readings (binary; None: the decision's own list and answer shares decide)
    follow_up_list: Linear | None = None
    #: whether an answered question also asks a matter the code leaves open, from the decision's
    #: inputs and the topic model's confidence (binary; None: the decision's out-of-scope share says so)
    open_part: Linear | None = None
    #: the out-of-scope topic from the question's words, blended with `topic` as training
    #: weighted them (`thresholds["topic_word_weight"]`; None: the vector's model alone)
    topic_words: WordClasses | None = None
    #: whether a first message answered as one point may have asked for a party's whole list,
    #: from `list_input` and blended with a model of its words as training weighted them
    #: (`thresholds["list_offer_word_weight"]`; binary; None: no answer offers a list)
    list_offer: Linear | None = None
    list_offer_words: WordModel | None = None
    #: models of the message's words for the choices of party and phase, blended with `party`
    #: and `phase` as training weighted them (`thresholds["party_word_weight"]`,
    #: `thresholds["phase_word_weight"]`): the vector weighs the subject of a message over who
    #: it says is asking ("we get an intern from the university: what now?")
    party_words: WordClasses | None = None
    phase_words: WordClasses | None = None

    def _short(self, n_words: int) -> bool:
        return n_words <= self.thresholds.get("short_words", 0)

    def decision(self, decide_in: np.ndarray, n_words: int,
                 general: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """The decision's class probabilities for one question and the answer threshold that
        goes with them: a short message is decided by the model trained on short messages.
        `general`: the general decision's probabilities, when the caller has them already."""
        if self.decide_short is not None and self._short(n_words):
            return self.decide_short.proba(decide_in)[0], self.thresholds["answer_min_short"]
        return (self.decide.proba(decide_in)[0] if general is None else general), self.thresholds["answer_min"]

    def _list_choice(self, part: str, list_in: np.ndarray, text: str, names: tuple[str, ...]) -> str | None:
        """One choice of a list from `list_in` and the words of `text` (the message alone),
        blended as training weighted them; None without that part."""
        vector, words = getattr(self, part), getattr(self, f"{part}_words")
        if vector is None:
            return None
        p = vector.proba(list_in)[0]
        if words is not None and (w := self.thresholds.get(f"{part}_word_weight", 0.0)):
            p = (1.0 - w) * p + w * words.proba([text])[0]
        return names[int(p.argmax())]

    def party_of(self, list_in: np.ndarray, text: str) -> str | None:
        """The party a list question is about; None without a party model."""
        return self._list_choice("party", list_in, text, AUDIENCES)

    def phase_of(self, list_in: np.ndarray, text: str) -> str | None:
        """The phase a list question asks for ("any": the whole list); None without a phase model."""
        return self._list_choice("phase", list_in, text, LIST_PHASES)

    def list_share(self, list_in: np.ndarray) -> float | None:
        """P(a follow-up read with the message before it asks for a whole list); None without
        that part."""
        return None if self.follow_up_list is None else float(self.follow_up_list.proba(list_in)[0])

    def list_offer_of(self, list_in: np.ndarray, text: str) -> float | None:
        """P(a first message asks for a party's whole list), for an answer to one point that
        may offer that list; None without that part."""
        if self.list_offer is None:
            return None
        p = float(self.list_offer.proba(list_in)[0])
        w = self.thresholds.get("list_offer_word_weight", 0.0)
        if not w or self.list_offer_words is None:
            return p
        return (1.0 - w) * p + w * float(self.list_offer_words.proba([text])[0])

    def open_part_of(self, part_in: np.ndarray) -> float | None:
        """P(a question also asks a matter the code leaves open), from `open_part_input`; None
        without that part."""
        return None if self.open_part is None else float(self.open_part.proba(part_in)[0])

    def follows(self, reading_in: np.ndarray) -> float | None:
        """P(the message is to be read with the one before it); None without a reading model."""
        return None if self.reading is None else float(self.reading.proba(reading_in)[0])

    def topic_proba(self, qvec: np.ndarray, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(1, topics) probabilities of each out-of-scope topic twice: the vector's model blended
        with the word model, which keeps a clause that asks an open matter beside another, and
        the word model's own (the vector's without a word model), which the open-part model reads."""
        p = self.topic.proba(qvec)
        if self.topic_words is None:
            return p, p
        words = self.topic_words.proba([text]).astype(np.float32)
        w = self.thresholds.get("topic_word_weight", 0.0)
        return ((1.0 - w) * p + w * words).astype(np.float32), words

    def safety_score(self, safety_in: np.ndarray, text: str, n_words: int) -> SafetyScore:
        """P(safety question) by the safety model alone, and blended with the word model as
        training weighted them, with the thresholds that go with them: a short message is scored
        by the safety model trained on short messages."""
        t = self.thresholds
        if self.safety_short is not None and self._short(n_words):
            model, mins = self.safety_short, (t["safety_min_short"], t["safety_words_min_short"],
                                              t.get("safety_mention_min_short", 1.0))
        else:
            model, mins = self.safety, (t["safety_min"], t["safety_words_min"], t.get("safety_mention_min", 1.0))
        w = t.get("safety_word_weight", 0.0)
        p = float(model.proba(safety_in)[0])
        blend = p if not w or self.safety_words is None else (1.0 - w) * p + w * float(self.safety_words.proba([text])[0])
        return SafetyScore(p, blend, *mins)

    def save(self, path: Path) -> None:
        arrays = {f"{part}.{name}": getattr(getattr(self, part), name)
                  for part in PARTS for name in LINEAR_ARRAYS}
        for part in OPTIONAL_PARTS:
            if getattr(self, part) is not None:
                arrays |= {f"{part}.{name}": getattr(getattr(self, part), name) for name in LINEAR_ARRAYS}
        for part in ("safety_words", "list_offer_words"):
            if (words := getattr(self, part)) is not None:
                arrays |= {f"{part}.{name}": getattr(words, name) for name in WORD_ARRAYS}
                arrays[f"{part}.bias"] = np.array(words.bias)
        for part in WORD_CLASS_PARTS:
            if (classes := getattr(self, part)) is not None:
                arrays |= {f"{part}.{name}": getattr(classes, name) for name in (*WORD_ARRAYS, "bias")}
        arrays["meta"] = np.array(json.dumps({"thresholds": self.thresholds, **self.meta}, sort_keys=True))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **{k: np.asarray(v) for k, v in arrays.items()})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LearnedModel:
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))

                def linear(part: str) -> Linear:
                    return Linear(*(data[f"{part}.{n}"].astype(np.float32) for n in LINEAR_ARRAYS))

                parts = {part: linear(part) for part in PARTS}
                # a model saved before the word model existed loads without it; its features
                # stamp no longer fits, so it is retrained rather than used
                def word_model(part: str) -> WordModel | None:
                    return (WordModel(*(data[f"{part}.{n}"] for n in WORD_ARRAYS), float(data[f"{part}.bias"]))
                            if f"{part}.terms" in data.files else None)

                words, offer_words = word_model("safety_words"), word_model("list_offer_words")
                optional = {part: linear(part) if f"{part}.W" in data.files else None for part in OPTIONAL_PARTS}
                word_classes = {part: WordClasses(*(data[f"{part}.{n}"] for n in (*WORD_ARRAYS, "bias")))
                                if f"{part}.terms" in data.files else None for part in WORD_CLASS_PARTS}
        except (OSError, ValueError, KeyError) as exc:
            raise IndexBuildError(f"the learned model {path} cannot be read ({exc})") from exc
        thresholds = meta.pop("thresholds")
        return cls(**parts, safety_words=words, thresholds=thresholds, meta=meta, **optional, **word_classes,
                   list_offer_words=offer_words)

    def fits(self, expected: dict) -> bool:
        """Whether the model was trained on the data, corpus and embedding model `expected` names."""
        return all(self.meta.get(k) == v for k, v in expected.items())
