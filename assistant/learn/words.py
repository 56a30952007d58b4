"""A logistic regression over a question's words and word pairs, applied without scikit-learn.

The safety model reads the question as one embedding, in which the topic (travel costs, tasks)
outweighs a short clause giving the reason ("bc I'm international"). Words and word pairs keep
that clause. scikit-learn fits the model (`TfidfVectorizer` with sublinear tf, then
`LogisticRegression`); answering recomputes the same tf-idf vector for one question here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

#: scikit-learn's default token pattern: runs of two or more word characters
TOKEN = re.compile(r"(?u)\b\w\w+\b")
#: the vectoriser's settings; `grams` must give the same terms as this one
VECTORIZER = {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True}


def grams(text: str) -> list[str]:
    """The text's words and adjacent word pairs, lower-cased, as the vectoriser names them."""
    tokens = TOKEN.findall(text.lower())
    return tokens + [" ".join(pair) for pair in zip(tokens, tokens[1:], strict=False)]


@dataclass
class WordModel:
    """P(positive) from the unit-length sublinear tf-idf vector of a text's words and pairs."""

    terms: np.ndarray  # (V,) the vocabulary
    idf: np.ndarray  # (V,)
    coef: np.ndarray  # (V,)
    bias: float
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {t: i for i, t in enumerate(self.terms.tolist())}

    def logit(self, text: str) -> float:
        counts = Counter(i for g in grams(text) if (i := self._index.get(g)) is not None)
        if not counts:
            return self.bias
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tfidf = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[idx]
        return float(tfidf @ self.coef[idx] / np.linalg.norm(tfidf)) + self.bias

    def proba(self, texts: list[str]) -> np.ndarray:
        return np.array([1.0 / (1.0 + np.exp(-self.logit(t))) for t in texts])


def fit_words(texts: list[str], y: np.ndarray, C: float, seed: int = 0) -> WordModel:
    """Fit the vectoriser and a class-balanced logistic regression on labelled texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(**VECTORIZER)  # type: ignore[arg-type]
    X = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=C, max_iter=3000, random_state=seed, class_weight="balanced").fit(X, y)
    return WordModel(vectorizer.get_feature_names_out().astype(str), vectorizer.idf_.astype(np.float64),
                     model.coef_[0].astype(np.float64), float(model.intercept_[0]))
