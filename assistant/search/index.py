"""The local index: a persistent Chroma collection (several entries per provision) + BM25.

Each provision is embedded several ways — its Dutch text, English rendering, summaries and
title — all carrying the provision id (LangChain's multi-vector pattern); the question bank's
questions are embedded into a checksummed NumPy file beside the store. A manifest records
what the index was built from; a missing, stale or unreadable index is rebuilt, under a file
lock so two processes never build at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from assistant.settings import quiet_libraries

quiet_libraries()  # before chromadb is imported: it reads its telemetry switch at import

import chromadb  # noqa: E402
import numpy as np  # noqa: E402
from chromadb.config import Settings  # noqa: E402
from langchain_chroma import Chroma  # noqa: E402
from langchain_community.retrievers import BM25Retriever  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402
from tqdm import tqdm  # noqa: E402

from assistant.corpus.corpus import Corpus  # noqa: E402
from assistant.errors import IndexBuildError  # noqa: E402
from assistant.learn.bank import bank_hash  # noqa: E402
from assistant.text.tokens import analyze  # noqa: E402

COLLECTION = "provisions"
MANIFEST = "manifest.json"
BANK_VECTORS = "bank.npy"
FORMAT = 3  # bump when the entry layout changes (3: bank questions as a NumPy file, not entries)
#: With Chroma's default search breadth (ef 10) the 80 nearest entries came
#: from an approximate search whose graph differs per process, so the same question got
#: other citations in another process (42 of the 231 eval questions). A search breadth
#: above the number of entries (~700) makes the search exhaustive, hence deterministic.
HNSW = {"hnsw:space": "cosine", "hnsw:search_ef": 2048, "hnsw:construction_ef": 256, "hnsw:M": 32}


def entries(corpus: Corpus) -> list[Document]:
    """All vector-store entries: several per provision, each pointing to its id."""
    docs = []
    for p in corpus.provisions:
        c = corpus.curation.get(p.id)
        fields: list[tuple[str, str, str]] = [("text", "nl", p.text)]
        if c is not None:
            fields += [
                ("en", "en", c.en),
                ("summary", "nl", c.summary_nl),
                ("summary", "en", c.summary_en),
                ("title", "nl", f"{c.title_nl}. {c.title_en}"),
            ]
        for i, (kind, lang, text) in enumerate(fields):
            if text.strip():
                docs.append(
                    Document(
                        page_content=text,
                        id=f"{p.id}#{i}",
                        metadata={"pid": p.id, "field": kind, "lang": lang},
                    )
                )
    return docs


def lexical_documents(corpus: Corpus) -> list[Document]:
    """One BM25 document per provision: all its texts together, for sound term statistics."""
    by_pid: dict[str, list[str]] = {}
    for d in entries(corpus):
        by_pid.setdefault(d.metadata["pid"], []).append(d.page_content)
    return [Document(page_content="\n".join(t), metadata={"pid": pid}) for pid, t in by_pid.items()]


@dataclass
class Vectors:
    """The store's entry vectors held in memory, unit length, for exact nearest-entry search.

    Why not `Chroma.similarity_search_by_vector`: over 682 entries a Chroma query through
    langchain-chroma cost 5–9 ms per question (the HNSW call, then documents and metadata
    fetched and wrapped as Documents), more than embedding the question itself (~5 ms), while
    a NumPy product over the same vectors takes ~0.1 ms (~0.3 ms with the top k sorted, for
    1,306 entries) and is exact, so deterministic. Chroma stays the persistent store the
    vectors are read from.
    """

    matrix: np.ndarray  # (entries, dim), float32, rows of unit length
    pids: list[str]
    fields: list[str]

    @classmethod
    def from_store(cls, store: Chroma) -> Vectors:
        got = store.get(include=["embeddings", "metadatas"])
        matrix = np.asarray(got["embeddings"], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix /= np.where(norms == 0, 1.0, norms)
        metas = got["metadatas"]
        return cls(matrix, [m["pid"] for m in metas], [m.get("field", "") for m in metas])

    def nearest(self, vector: list[float], k: int) -> list[tuple[int, float]]:
        """The k entries most similar to `vector` (cosine), best first: (row, similarity)."""
        q = np.asarray(vector, dtype=np.float32)
        sims = self.matrix @ (q / (np.linalg.norm(q) or 1.0))
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(i), float(sims[i])) for i in top]


@dataclass
class Index:
    """An opened index: the Chroma store, its vectors in memory, the BM25 retriever and what
    they were built from."""

    store: Chroma
    bm25: BM25Retriever
    manifest: dict
    path: Path
    vectors: Vectors
    bank: np.ndarray  # (bank questions, dim) unit rows, in the order of the bank files


def _client(path: Path) -> chromadb.ClientAPI:
    return chromadb.PersistentClient(
        path=str(path), settings=Settings(anonymized_telemetry=False, allow_reset=False)
    )


def _forget(path: Path) -> None:
    """Drop Chroma's per-process cached client for `path`, whose files are being replaced.

    Chroma keeps one System per persist directory for the whole process, so
    a second build or a reopen after a rebuild in the same process got the cached System of
    the files that had been moved away ("attempt to write a readonly database"). Popping it
    (not stopping it) lets stores already opened on the old files keep working.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)


def _sqlite_ok(path: Path) -> bool:
    """Whether the store's SQLite file passes `PRAGMA quick_check` (read-only).

    Why: a file corrupted in its data pages can still open and count right.
    """
    import sqlite3

    db = path / "chroma.sqlite3"
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return con.execute("PRAGMA quick_check").fetchone() == ("ok",)
        finally:
            con.close()
    except sqlite3.Error:
        return False


def _store(path: Path, embeddings: Embeddings) -> Chroma:
    # our own embedding function always: Chroma's default one downloads a model
    return Chroma(
        collection_name=COLLECTION,
        embedding_function=embeddings,
        client=_client(path),
        collection_metadata=HNSW,
    )


def expected_manifest(corpus: Corpus, embeddings: Embeddings) -> dict:
    return {
        "format": FORMAT,
        "corpus": corpus.fingerprint,
        "bank": bank_hash(corpus.files.bank),
        "embeddings": getattr(embeddings, "spec", type(embeddings).__name__),
        "embeddings_version": getattr(embeddings, "version", ""),
        "chromadb": version("chromadb"),
        "langchain_chroma": version("langchain-chroma"),
    }


def _matches(manifest: dict | None, expected: dict) -> bool:
    return manifest is not None and all(manifest.get(k) == v for k, v in expected.items())


def _read_manifest(path: Path) -> dict | None:
    try:
        return json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def _lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(corpus: Corpus, embeddings: Embeddings, root: Path, progress: bool = True) -> Path:
    """Embed every entry into a fresh Chroma store, then swap it in atomically."""
    docs = entries(corpus)
    # leftovers of a build that crashed are removed (callers hold the lock),
    # and each build gets a fresh directory name, never one Chroma has cached (see _forget).
    for left in (*root.glob(".building-*"), *root.glob(".old-*")):
        _remove(left)
    tmp = root / f".building-{os.getpid()}-{time.time_ns()}"
    client = _client(tmp)
    store = Chroma(collection_name=COLLECTION, embedding_function=embeddings, client=client,
                   collection_metadata=HNSW)
    batch = 64
    bar = tqdm(total=len(docs), desc="Building index", unit="entry", disable=not progress)
    for i in range(0, len(docs), batch):
        chunk = docs[i : i + batch]
        vectors = embeddings.embed_documents([d.page_content for d in chunk])
        store._collection.upsert(  # vectors precomputed so one batch call embeds them
            ids=[d.id for d in chunk],
            embeddings=vectors,  # type: ignore[arg-type]
            documents=[d.page_content for d in chunk],
            metadatas=[d.metadata for d in chunk],
        )
        bar.update(len(chunk))
    bar.close()
    bank = _embed_bank(corpus, embeddings)
    np.save(tmp / BANK_VECTORS, bank)
    manifest = expected_manifest(corpus, embeddings) | {
        "entries": len(docs), "bank_rows": len(bank), "bank_sha256": _sha256(tmp / BANK_VECTORS),
        "built": time.time()}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    del store
    client.close()  # flush and release the files before they move
    _forget(tmp)
    final = root / "chroma"
    old = root / f".old-{os.getpid()}-{time.time_ns()}"
    _forget(final)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    _remove(old)
    return final


def _embed_bank(corpus: Corpus, embeddings: Embeddings) -> np.ndarray:
    """The bank's questions (a follow-up with the question it follows) as unit vectors."""
    from assistant.learn.bank import load_bank
    from assistant.search.embeddings import embed_queries

    return embed_queries(embeddings, [q.query for q in load_bank(corpus.files.bank)])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bank_vectors(path: Path, manifest: dict) -> np.ndarray | None:
    """The bank vectors written at build, if their checksum and shape are those recorded."""
    try:
        if _sha256(path / BANK_VECTORS) != manifest.get("bank_sha256"):
            return None
        bank = np.load(path / BANK_VECTORS, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return bank if bank.ndim == 2 and len(bank) == manifest.get("bank_rows") else None


def _remove(path: Path) -> None:
    """Delete a directory tree or a file (a stray file where the store belongs), if there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _open(path: Path, embeddings: Embeddings, manifest: dict) -> tuple[Chroma, np.ndarray] | None:
    """Open the store and the bank vectors if both are whole: the store readable and holding
    as many entries as were written, the vectors with the recorded checksum and shape."""
    bank = _bank_vectors(path, manifest) if _sqlite_ok(path) else None
    if bank is None:
        _forget(path)
        return None
    try:
        store = _store(path, embeddings)
        if store._collection.count() != manifest.get("entries"):
            _forget(path)  # the next attempt must read the files afresh
            return None
        return store, bank
    except Exception:  # a truncated or corrupted sqlite file raises many kinds of errors
        _forget(path)
        return None


def open_index(
    corpus: Corpus,
    embeddings: Embeddings,
    root: Path,
    progress: bool = True,
    rebuild: bool = False,
) -> Index:
    """Open the index, (re)building it when it is missing, stale, or unreadable."""
    expected = expected_manifest(corpus, embeddings)
    path = root / "chroma"
    opened = None
    manifest = _read_manifest(path)
    if not rebuild and _matches(manifest, expected):
        opened = _open(path, embeddings, manifest or {})
    if opened is None:
        try:
            with _lock(root):
                manifest = _read_manifest(path)  # another process may have built it meanwhile
                if rebuild or not _matches(manifest, expected) or _open(
                    path, embeddings, manifest or {}
                ) is None:
                    build(corpus, embeddings, root, progress)
                manifest = _read_manifest(path)
        except OSError as exc:
            raise IndexBuildError(
                f"cannot write the index under {root}: {exc.strerror}. Set STAGECODE_INDEX_DIR "
                "to a writable folder."
            ) from exc
        opened = _open(path, embeddings, manifest or {})
        if opened is None:
            raise IndexBuildError(f"the index under {path} could not be opened after a rebuild")
    store, bank = opened
    bm25 = BM25Retriever.from_documents(lexical_documents(corpus), preprocess_func=analyze)
    return Index(store=store, bm25=bm25, manifest=manifest or {}, path=path,
                 vectors=Vectors.from_store(store), bank=bank)
