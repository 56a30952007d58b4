"""Test doubles shared by the index-fault tests and their child processes."""

from __future__ import annotations

import hashlib
import time

import numpy as np
from langchain_core.embeddings import Embeddings


class HashEmbeddings(Embeddings):
    """Deterministic, instant embeddings from a hash of the text: index mechanics, not meaning.

    The same text always gets the same unit vector, so a store whose search returns an entry
    for its own text is whole. `spec`/`dim` stand for different models; `delay` slows each
    batch down to widen race windows.
    """

    def __init__(self, spec: str = "hash-a", dim: int = 32, delay: float = 0.0) -> None:
        self.spec, self.dim, self.delay, self.version = spec, dim, delay, "1"

    def _vector(self, text: str) -> list[float]:
        raw = hashlib.shake_256(f"{self.spec}\0{text}".encode()).digest(self.dim)
        v = np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 127.5
        return (v / np.linalg.norm(v)).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.delay:
            time.sleep(self.delay)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)
