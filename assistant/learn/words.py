"""Logistic regressions over a question's words and word pairs, applied without scikit-learn.

A model that reads the question as one embedding weighs its main subject (travel costs, tasks)
over a short clause: the reason a safety question gives ("bc I'm international"), or the matter
the code leaves open that a question asks beside one it answers ("and how much is normal?").
Words and word pairs keep that clause. scikit-learn fits the models (`TfidfVectorizer` with
sublinear tf, then `LogisticRegression`); answering recomputes the same tf-idf vector for one
question here.
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


def _tfidf(index: dict[str, int], idf: np.ndarray, text: str) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The vocabulary positions of a text's known terms, their sublinear tf-idf weights and the
    weights' norm (None: no known term)."""
    counts = Counter(i for g in grams(text) if (i := index.get(g)) is not None)
    if not counts:
        return None
    idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    tfidf = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[idx]
    return idx, tfidf, float(np.linalg.norm(tfidf))


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
        terms = _tfidf(self._index, self.idf, text)
        if terms is None:
            return self.bias
        idx, tfidf, norm = terms
        return float(tfidf @ self.coef[idx] / norm) + self.bias

    def proba(self, texts: list[str]) -> np.ndarray:
        return np.array([1.0 / (1.0 + np.exp(-self.logit(t))) for t in texts])


@dataclass
class WordClasses:
    """Class probabilities (a multinomial logistic regression) from the same tf-idf vector."""

    terms: np.ndarray  # (V,) the vocabulary
    idf: np.ndarray  # (V,)
    coef: np.ndarray  # (V, K)
    bias: np.ndarray  # (K,)
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {t: i for i, t in enumerate(self.terms.tolist())}

    def proba(self, texts: list[str]) -> np.ndarray:
        """(N, K) class probabilities."""
        z = np.tile(self.bias, (len(texts), 1))
        for row, text in enumerate(texts):
            if (terms := _tfidf(self._index, self.idf, text)) is not None:
                idx, tfidf, norm = terms
                z[row] += tfidf @ self.coef[idx] / norm
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def fit_word_classes(texts: list[str], y: np.ndarray, n_classes: int, C: float, seed: int = 0) -> WordClasses:
    """Fit the vectoriser and a multinomial logistic regression on texts labelled with classes
    0..n_classes-1; a class no text has gets a bias that keeps it out of reach."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(**VECTORIZER)  # type: ignore[arg-type]
    X = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=C, max_iter=3000, random_state=seed).fit(X, y)
    W, b = model.coef_.T, model.intercept_
    if W.shape[1] == 1:  # two classes: scikit-learn keeps one column, the second class's logit
        W, b = np.hstack([np.zeros_like(W), W]), np.array([0.0, b[0]])
    coef = np.zeros((X.shape[1], n_classes), dtype=np.float32)  # half the file; far below the fit's tolerance
    bias = np.full(n_classes, -30.0)
    coef[:, model.classes_], bias[model.classes_] = W, b
    return WordClasses(vectorizer.get_feature_names_out().astype(str), vectorizer.idf_.astype(np.float64), coef, bias)


def fit_words(texts: list[str], y: np.ndarray, C: float, seed: int = 0) -> WordModel:
    """Fit the vectoriser and a class-balanced logistic regression on labelled texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(**VECTORIZER)  # type: ignore[arg-type]
    X = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=C, max_iter=3000, random_state=seed, class_weight="balanced").fit(X, y)
    return WordModel(vectorizer.get_feature_names_out().astype(str), vectorizer.idf_.astype(np.float64),
                     model.coef_[0].astype(np.float64), float(model.intercept_[0]))
