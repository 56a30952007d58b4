"""Which learned model answers: the one shipped in the package when it was trained on this
bank, corpus and embedding model; else one trained here once and kept beside the index."""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

from assistant.corpus.corpus import Corpus
from assistant.learn.model import LearnedModel
from assistant.learn.signals import FEATURES

SHIPPED = Path(str(files("assistant.learn") / "models"))


def expected_meta(corpus: Corpus, embeddings: object, bank: str) -> dict:
    """What a model must have been trained on to be used with this corpus and index."""
    return {"bank": bank, "corpus": corpus.fingerprint, "features": FEATURES,
            "embeddings": getattr(embeddings, "spec", type(embeddings).__name__),
            "embeddings_version": getattr(embeddings, "version", "")}


def shipped_path(spec: str) -> Path:
    return SHIPPED / f"{spec.replace(':', '_').replace('/', '_')}.npz"


def learned_model(corpus: Corpus, embeddings: object, index_root: Path, bank: str,
                  progress: bool = False) -> LearnedModel:
    """The shipped model if it fits, else a cached one beside the index, else train one now."""
    expected = expected_meta(corpus, embeddings, bank)
    shipped = shipped_path(expected["embeddings"])
    cached = index_root / f"learned-{shipped.name}"
    for path in (shipped, cached):
        if path.is_file():
            model = LearnedModel.load(path)
            if model.fits(expected):
                return model
    from assistant.training.train import run

    def log(msg: str) -> None:
        if progress:
            print(msg, file=sys.stderr)

    log(f"Training the answer models for {expected['embeddings']} (once, about a minute)…")
    model, _ = run(corpus, corpus.files.bank, embeddings, expected, log=log)
    model.save(cached)
    return model


def train_and_ship(corpus: Corpus, embeddings: object, out: Path | None = None,
                   report_path: Path | None = None) -> int:
    """`stagecode train`: fit the models for an embedding model and write them into the package
    (or to `out`), with the out-of-pass report."""
    from assistant.learn.bank import bank_hash
    from assistant.training.train import report, run

    expected = expected_meta(corpus, embeddings, bank_hash(corpus.files.bank))
    model, figures = run(corpus, corpus.files.bank, embeddings, expected)
    path = out or shipped_path(expected["embeddings"])
    model.save(path)
    text = report(figures, model.thresholds, expected)
    if report_path is not None:
        report_path.write_text(text, encoding="utf-8")
    print(text)
    print(f"model written to {path}")
    return 0
