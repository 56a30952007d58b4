"""The local index: a persistent Chroma collection (several entries per provision) + BM25.

Each provision is embedded several ways — its Dutch text, English rendering, summaries and
title — all carrying the provision id (LangChain's multi-vector pattern); the question bank's
questions are embedded too. The build writes the Chroma store and, beside it, the same entry
vectors and the bank vectors as checksummed NumPy files: the answer path reads only those
(after their checksums, shapes and a self-search probe pass), never Chroma's native files, so
a damaged file can cause a rebuild but never a crash, and answering needs no chromadb import.
A manifest records what the index was built from; a missing, stale or damaged index is
rebuilt under a file lock, so two processes never build at once. `verify_store` cross-checks
the Chroma store itself in a child process (`stagecode index`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_community.retrievers import BM25Retriever
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from assistant.corpus.corpus import Corpus
from assistant.errors import IndexBuildError, StagecodeError
from assistant.learn.bank import bank_hash
from assistant.search.embeddings import embed_batch
from assistant.settings import quiet_libraries
from assistant.text.tokens import analyze

if TYPE_CHECKING:
    import chromadb
    from langchain_chroma import Chroma

COLLECTION = "provisions"
MANIFEST = "manifest.json"
BANK_VECTORS = "bank.npy"
ENTRY_VECTORS = "vectors.npy"
ENTRY_IDS = "entries.json"
#: bump when the layout changes (4: entry vectors as a NumPy file the answer path reads)
FORMAT = 4
MAX_MANIFEST_BYTES = 1 << 20
#: bank questions embedded per step of the progress bar (a multiple of the embedding's slice)
BANK_STEP = 1024
#: entries per write to the Chroma store
UPSERT_BATCH = 64
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

    @staticmethod
    def unit(rows: list[list[float]] | np.ndarray) -> np.ndarray:
        matrix = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1.0, norms)

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
    """An opened index: the entry vectors in memory, the BM25 retriever, the bank vectors and
    what they were built from; the Chroma store opens only when asked for (tools and tests)."""

    bm25: BM25Retriever
    manifest: dict
    path: Path
    vectors: Vectors
    bank: np.ndarray  # (bank questions, dim) unit rows, in the order of the bank files
    embeddings: Embeddings

    @cached_property
    def store(self) -> Chroma:
        return _store(self.path, self.embeddings)


def _client(path: Path) -> chromadb.ClientAPI:
    quiet_libraries()  # chromadb reads its telemetry switch when it is imported
    import chromadb
    from chromadb.config import Settings

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


def _sqlite_ok(path: Path, entries: object) -> bool:
    """Whether the store's SQLite file passes `PRAGMA quick_check` and holds the entries written
    (read-only, through Python's sqlite3). Why: a file corrupted in its data pages can still
    open, and an emptied one is a valid empty database."""
    import sqlite3

    db = path / "chroma.sqlite3"
    if not _regular(db):
        return False
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return (con.execute("PRAGMA quick_check").fetchone() == ("ok",)
                    and con.execute("SELECT count(*) FROM embeddings").fetchone() == (entries,))
        finally:
            con.close()
    except sqlite3.Error:
        return False


def _store(path: Path, embeddings: Embeddings) -> Chroma:
    from langchain_chroma import Chroma

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


def _regular(path: Path, max_bytes: int | None = None) -> bool:
    """Whether `path` is a regular file (after symlinks; a loop or a FIFO is not), small enough."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(st.st_mode) and (max_bytes is None or st.st_size <= max_bytes)


def _read_manifest(path: Path) -> dict | None:
    """The manifest if it is a small regular file holding a JSON object (never a FIFO or device)."""
    if not _regular(path / MANIFEST, MAX_MANIFEST_BYTES):
        return None
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


@contextmanager
def _lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    lock = root / ".lock"
    if lock.exists() and not _regular(lock):
        raise IndexBuildError(f"{lock} is not a regular file; remove it, or set STAGECODE_INDEX_DIR "
                              "to another folder")
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(corpus: Corpus, embeddings: Embeddings, root: Path, progress: bool = True) -> Path:
    """Embed every entry into a fresh Chroma store, then swap it in atomically. A build that
    fails (a full disk, a library error) leaves no half-built folder and raises `IndexBuildError`."""
    # leftovers of a build that crashed are removed (callers hold the lock),
    # and each build gets a fresh directory name, never one Chroma has cached (see _forget).
    for left in (*root.glob(".building-*"), *root.glob(".old-*")):
        _remove(left)
    tmp = root / f".building-{os.getpid()}-{time.time_ns()}"
    try:
        _write(corpus, embeddings, tmp, progress)
    except Exception as exc:
        _forget(tmp)
        _remove(tmp)
        if isinstance(exc, StagecodeError):  # a model that cannot load says so itself
            raise
        if isinstance(exc, OSError) and exc.errno is not None:
            raise IndexBuildError(f"cannot write the index under {root}: {exc.strerror}. Free some space, "
                                  "or set STAGECODE_INDEX_DIR to another folder.") from None
        raise IndexBuildError(f"building the index under {root} failed ({type(exc).__name__}: {exc}); "
                              "is the disk full?") from None
    final = root / "chroma"
    old = root / f".old-{os.getpid()}-{time.time_ns()}"
    _forget(final)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    _remove(old)
    return final


def _write(corpus: Corpus, embeddings: Embeddings, tmp: Path, progress: bool) -> None:
    """Write a whole index into the folder `tmp`: the Chroma store, the vector files, the manifest.

    Everything is embedded before the store is written (the entries in one batch, the bank in
    steps of `BANK_STEP` for the progress bar), so a model that embeds a batch on several
    threads can.
    """
    from langchain_chroma import Chroma
    from tqdm import tqdm

    from assistant.learn.bank import load_bank

    docs = entries(corpus)
    questions = [q.query for q in load_bank(corpus.files.bank)]
    client = _client(tmp)
    try:
        store = Chroma(collection_name=COLLECTION, embedding_function=embeddings, client=client,
                       collection_metadata=HNSW)
        with tqdm(total=len(docs) + len(questions), desc="Building index", unit="text",
                  disable=not progress) as bar:
            rows = embed_batch(embeddings, [d.page_content for d in docs])
            bar.update(len(docs))
            parts = [np.zeros((0, rows.shape[1]), dtype=np.float32)]
            for i in range(0, len(questions), BANK_STEP):
                parts.append(embed_batch(embeddings, questions[i : i + BANK_STEP], queries=True))
                bar.update(len(parts[-1]))
        bank = np.vstack(parts)
        for i in range(0, len(docs), UPSERT_BATCH):
            chunk = docs[i : i + UPSERT_BATCH]
            store._collection.upsert(  # vectors precomputed, not embedded again by the store
                ids=[d.id for d in chunk],
                embeddings=rows[i : i + UPSERT_BATCH].tolist(),  # type: ignore[arg-type]
                documents=[d.page_content for d in chunk],
                metadatas=[d.metadata for d in chunk],
            )
        np.save(tmp / BANK_VECTORS, bank)
        np.save(tmp / ENTRY_VECTORS, rows)
        (tmp / ENTRY_IDS).write_text(json.dumps({"pids": [d.metadata["pid"] for d in docs],
                                                 "fields": [d.metadata["field"] for d in docs]}))
        manifest = expected_manifest(corpus, embeddings) | {
            "entries": len(docs), "bank_rows": len(bank), "bank_sha256": _sha256(tmp / BANK_VECTORS),
            "vectors_sha256": _sha256(tmp / ENTRY_VECTORS), "entries_sha256": _sha256(tmp / ENTRY_IDS),
            "built": time.time()}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    finally:
        client.close()  # flush and release the files (before they move, or are removed)
        _forget(tmp)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _array(path: Path, sha256: object) -> np.ndarray | None:
    """A NumPy file written at build, if it is a regular file with the recorded checksum."""
    if not _regular(path) or _sha256(path) != sha256:
        return None
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return array if array.ndim == 2 and array.dtype == np.float32 and np.isfinite(array).all() else None


def _entry_vectors(path: Path, manifest: dict, corpus: Corpus) -> Vectors | None:
    """The entry vectors and their provision ids, if whole: checksums, shapes, every provision
    present, and each probed row finding itself first."""
    matrix = _array(path / ENTRY_VECTORS, manifest.get("vectors_sha256"))
    if matrix is None or len(matrix) != manifest.get("entries") or not _regular(path / ENTRY_IDS):
        return None
    if _sha256(path / ENTRY_IDS) != manifest.get("entries_sha256"):
        return None
    try:
        ids = json.loads((path / ENTRY_IDS).read_text(encoding="utf-8"))
        vectors = Vectors(matrix, list(ids["pids"]), list(ids["fields"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if len(vectors.pids) != len(matrix) or set(vectors.pids) != set(corpus.by_id):
        return None
    probe = range(0, len(matrix), max(1, len(matrix) // 16))
    if any(vectors.nearest(matrix[r].tolist(), 1)[0][1] < 0.999 for r in probe):
        return None  # a unit row must find itself (or its duplicate) at similarity 1
    return vectors


def _remove(path: Path) -> None:
    """Delete a directory tree or a file (a stray file where the store belongs), if there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _open(path: Path, manifest: dict, corpus: Corpus) -> tuple[Vectors, np.ndarray] | None:
    """The entry and bank vectors if the index is whole: its SQLite store passes a quick check
    (read by Python's sqlite3, which cannot crash the process) and the vector files pass theirs."""
    if not _sqlite_ok(path, manifest.get("entries")):
        return None
    vectors = _entry_vectors(path, manifest, corpus)
    bank = _array(path / BANK_VECTORS, manifest.get("bank_sha256"))
    if vectors is None or bank is None or len(bank) != manifest.get("bank_rows"):
        return None
    if bank.shape[1] != vectors.matrix.shape[1]:
        return None
    return vectors, bank


_VERIFY_CHILD = """
import json, sys
from pathlib import Path
from assistant.search.index import _client, COLLECTION
path, entries = Path(sys.argv[1]), int(sys.argv[2])
col = _client(path).get_collection(COLLECTION)
got = col.get(include=["embeddings"])
assert col.count() == entries == len(got["ids"])
for i in range(0, entries, max(1, entries // 16)):
    hit = col.query(query_embeddings=[got["embeddings"][i]], n_results=1)
    assert hit["ids"][0][0] == got["ids"][i] or hit["distances"][0][0] < 1e-4
print("ok")
"""


def verify_store(path: Path, manifest: dict, timeout: float = 120.0) -> bool:
    """Whether the Chroma store holds every entry and finds them, checked in a child process so
    that a native crash on a damaged file is a failed check, not a crash of ours."""
    try:
        proc = subprocess.run([sys.executable, "-c", _VERIFY_CHILD, str(path), str(manifest.get("entries"))],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "ok"


def open_index(
    corpus: Corpus,
    embeddings: Embeddings,
    root: Path,
    progress: bool = True,
    rebuild: bool = False,
    check_store: bool = False,
) -> Index:
    """Open the index, (re)building it when it is missing, stale or damaged. With `check_store`
    the Chroma store is cross-checked too (in a child process)."""
    expected = expected_manifest(corpus, embeddings)
    path = root / "chroma"

    def whole(manifest: dict | None) -> tuple[Vectors, np.ndarray] | None:
        if rebuild or manifest is None or not _matches(manifest, expected):
            return None
        opened = _open(path, manifest, corpus)
        if opened is not None and check_store and not verify_store(path, manifest):
            return None
        return opened

    manifest = _read_manifest(path)
    opened = whole(manifest)
    if opened is None:
        try:
            with _lock(root):
                manifest = _read_manifest(path)  # another process may have built it meanwhile
                opened = whole(manifest)
                if opened is None:
                    build(corpus, embeddings, root, progress)
                    manifest = _read_manifest(path)
                    opened = _open(path, manifest or {}, corpus)
        except OSError as exc:
            raise IndexBuildError(
                f"cannot write the index under {root}: {exc.strerror}. Set STAGECODE_INDEX_DIR "
                "to a writable folder."
            ) from exc
        if opened is None:
            raise IndexBuildError(f"the index under {path} could not be opened after a rebuild")
    vectors, bank = opened
    bm25 = BM25Retriever.from_documents(lexical_documents(corpus), preprocess_func=analyze)
    return Index(bm25=bm25, manifest=manifest or {}, path=path, vectors=vectors, bank=bank,
                 embeddings=embeddings)
