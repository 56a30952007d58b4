"""Where the corpus files are: the checkout's `corpus/` folder, or the copy packaged in the wheel."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

#: the source tree this package runs from, when it runs from one (None for an installed wheel)
CHECKOUT = Path(__file__).resolve().parents[2]
if not (CHECKOUT / "pyproject.toml").is_file() or not (CHECKOUT / "corpus").is_dir():
    CHECKOUT = None  # type: ignore[assignment]


def default_corpus_dir() -> Path:
    """The checkout's `corpus/`, else the data a wheel carries as `assistant.corpus.data`."""
    if CHECKOUT is not None:
        return CHECKOUT / "corpus"
    return Path(str(files("assistant.corpus") / "data"))


@dataclass(frozen=True)
class CorpusFiles:
    """The files of one corpus folder: the source, the curated layer, silent topics, voices, next
    steps, bank."""

    dir: Path

    @property
    def source(self) -> Path:
        return self.dir / "stagecode-hbo-2025.txt"

    @property
    def curated(self) -> Path:
        return self.dir / "curated.yaml"

    @property
    def silent(self) -> Path:
        return self.dir / "silent_topics.yaml"

    @property
    def silent_voices(self) -> Path:
        return self.dir / "silent_voices.yaml"

    @property
    def voices(self) -> Path:
        return self.dir / "voices.yaml"

    @property
    def next_steps(self) -> Path:
        return self.dir / "next_steps.yaml"

    @property
    def bank(self) -> Path:
        return self.dir / "questions"
