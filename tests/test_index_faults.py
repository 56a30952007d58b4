"""Index faults: deleted, truncated, corrupted, stale, built with another model, a
build that crashed, two processes at once — each is detected and rebuilt, or a clear error
says what to do.

Most tests use instant hash embeddings (tests/fakes.py): the index mechanics do not depend on
the model, and a real build takes ~15 s on a 2-core machine. One test reopens the session's
real index to show a whole one is not rebuilt.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from fakes import HashEmbeddings

from assistant.corpus.corpus import Corpus, load_corpus
from assistant.search import index as ix

ROOT = Path(__file__).resolve().parent.parent
FULL = load_corpus()
# the first 16 provisions: the same mechanics as the whole code, a quarter of the build time
CORPUS = Corpus(FULL.provisions[:16], {p.id: FULL.curation[p.id] for p in FULL.provisions[:16]
                                       if p.id in FULL.curation}, FULL.silent_topics)
EMB = HashEmbeddings()
ENTRIES = ix.entries(CORPUS)


def answers_right(index: ix.Index, emb: HashEmbeddings = EMB, corpus: Corpus = CORPUS) -> bool:
    """What the answer path reads: every 10th entry is found first by its own vector."""
    entries = ix.entries(corpus)
    if len(index.vectors.pids) != len(entries):
        return False
    return all(index.vectors.nearest(emb.embed_query(d.page_content), 1)[0][0] == i
               for i, d in list(enumerate(entries))[::10])


def whole(index: ix.Index, emb: HashEmbeddings = EMB, corpus: Corpus = CORPUS) -> bool:
    """The answer path is right, and the Chroma store holds every entry and finds each 10th."""
    if not answers_right(index, emb, corpus):
        return False
    entries = ix.entries(corpus)
    col = index.store._collection
    if col.count() != len(entries):
        return False
    for d in entries[::10]:
        got = col.query(query_embeddings=[emb.embed_query(d.page_content)], n_results=1)
        if got["ids"][0][:1] != [d.id]:
            return False
    return True


def built_at(root: Path) -> float:
    return float(json.loads((root / "chroma" / ix.MANIFEST).read_text())["built"])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One freshly built (hash-embedding) index, copied for each test."""
    root = tmp_path_factory.mktemp("template") / "index"
    index = ix.open_index(CORPUS, EMB, root, progress=False)
    assert whole(index) and index.manifest["entries"] == len(ENTRIES)
    return root


@pytest.fixture
def built(template: Path, tmp_path: Path) -> Path:
    """A whole index of its own; returns its root."""
    root = tmp_path / "index"
    shutil.copytree(template, root, ignore=shutil.ignore_patterns(".lock"))
    return root


def reopen(root: Path, corpus: Corpus = CORPUS, emb: HashEmbeddings = EMB) -> ix.Index:
    """Open as a new process would: without Chroma's per-process cache of this store."""
    ix._forget(root / "chroma")
    return ix.open_index(corpus, emb, root, progress=False)


# -- each fault ----------------------------------------------------------------------------------


def _sqlite(root: Path) -> Path:
    return root / "chroma" / "chroma.sqlite3"


def delete_store(root: Path) -> None:
    shutil.rmtree(root / "chroma")


def delete_manifest(root: Path) -> None:
    (root / "chroma" / ix.MANIFEST).unlink()


def garbage_manifest(root: Path) -> None:
    (root / "chroma" / ix.MANIFEST).write_text("{not json")


def truncate_sqlite(root: Path) -> None:
    db = _sqlite(root)
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])


def empty_sqlite(root: Path) -> None:
    _sqlite(root).write_bytes(b"")


def corrupt_sqlite_header(root: Path) -> None:
    db = _sqlite(root)
    data = bytearray(db.read_bytes())
    data[:100] = os.urandom(100)
    db.write_bytes(data)


def corrupt_sqlite_pages(root: Path) -> None:
    """Garbage over a stretch of data pages; the header stays valid, so it still opens."""
    db = _sqlite(root)
    data = bytearray(db.read_bytes())
    start, end = len(data) // 3, len(data) // 3 + 64 * 1024
    data[start:end] = os.urandom(end - start)
    db.write_bytes(data)


def drop_entries(root: Path) -> None:
    """Entries lost (e.g. an interrupted write): the store opens but holds fewer than built."""
    con = sqlite3.connect(_sqlite(root))
    con.execute("DELETE FROM embeddings WHERE rowid IN (SELECT rowid FROM embeddings LIMIT 50)")
    con.commit()
    con.close()


def older_chromadb(root: Path) -> None:
    path = root / "chroma" / ix.MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(manifest | {"chromadb": "0.4.0"}))


def older_format(root: Path) -> None:
    path = root / "chroma" / ix.MANIFEST
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(manifest | {"format": ix.FORMAT - 1}))


def chroma_is_a_file(root: Path) -> None:
    shutil.rmtree(root / "chroma")
    (root / "chroma").write_text("not a directory")


def delete_bank_vectors(root: Path) -> None:
    (root / "chroma" / ix.BANK_VECTORS).unlink()


def truncate_bank_vectors(root: Path) -> None:
    path = root / "chroma" / ix.BANK_VECTORS
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_bank_vector_bytes(root: Path) -> None:
    """Same size and a valid header, other numbers: only the checksum can tell."""
    path = root / "chroma" / ix.BANK_VECTORS
    data = bytearray(path.read_bytes())
    data[-4096:] = os.urandom(4096)
    path.write_bytes(data)


def manifest_is_a_json_array(root: Path) -> None:
    (root / "chroma" / ix.MANIFEST).write_text("[1, 2, 3]")


def manifest_is_a_fifo(root: Path) -> None:
    """Reading a FIFO with no writer would wait for ever: it must never be opened."""
    (root / "chroma" / ix.MANIFEST).unlink()
    os.mkfifo(root / "chroma" / ix.MANIFEST)


def manifest_is_a_symlink_loop(root: Path) -> None:
    (root / "chroma" / ix.MANIFEST).unlink()
    (root / "chroma" / ix.MANIFEST).symlink_to(root / "chroma" / ix.MANIFEST)


def delete_entry_vectors(root: Path) -> None:
    (root / "chroma" / ix.ENTRY_VECTORS).unlink()


def flip_entry_vector_bytes(root: Path) -> None:
    path = root / "chroma" / ix.ENTRY_VECTORS
    data = bytearray(path.read_bytes())
    data[-256:] = os.urandom(256)
    path.write_bytes(data)


def garbage_entry_ids(root: Path) -> None:
    (root / "chroma" / ix.ENTRY_IDS).write_text('{"pids": 7}')


REBUILT = [delete_store, delete_manifest, garbage_manifest, truncate_sqlite, empty_sqlite,
           corrupt_sqlite_header, corrupt_sqlite_pages, drop_entries, older_chromadb, older_format,
           chroma_is_a_file, delete_bank_vectors, truncate_bank_vectors, flip_bank_vector_bytes,
           manifest_is_a_json_array, manifest_is_a_fifo, manifest_is_a_symlink_loop,
           delete_entry_vectors, flip_entry_vector_bytes, garbage_entry_ids]


@contextmanager
def deadline(seconds: int):  # type: ignore[no-untyped-def]
    """Fail, rather than hang, if the block takes longer than `seconds`."""
    def stop(*_: object) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("fault", REBUILT, ids=[f.__name__ for f in REBUILT])
def test_a_damaged_index_is_detected_and_rebuilt(built: Path, fault) -> None:  # type: ignore[no-untyped-def]
    before = built_at(built)
    fault(built)
    with deadline(120):
        index = reopen(built)
    assert whole(index)
    assert built_at(built) > before
    assert not list(built.glob(".building-*")) and not list(built.glob(".old-*"))


def hnsw_folder(root: Path) -> Path:
    return next(p.parent for p in (root / "chroma").rglob("data_level0.bin"))


def _level0(root: Path) -> Path:
    return hnsw_folder(root) / "data_level0.bin"


HNSW_FAULTS = {
    "folder deleted": lambda root: shutil.rmtree(hnsw_folder(root)),
    "header deleted": lambda root: (hnsw_folder(root) / "header.bin").unlink(),
    "level0 zeroed": lambda root: _level0(root).write_bytes(bytes(_level0(root).stat().st_size)),
    "level0 cut in half": lambda root: _level0(root).write_bytes(
        _level0(root).read_bytes()[: _level0(root).stat().st_size // 2]),
    "level0 random": lambda root: _level0(root).write_bytes(os.urandom(_level0(root).stat().st_size)),
}


@pytest.mark.parametrize("damage", list(HNSW_FAULTS))
@pytest.mark.slow
def test_damaged_hnsw_files_never_reach_the_answer_path(built: Path, damage: str) -> None:
    """Chroma's native index files are never read to answer (a damaged one could crash the
    process); the store check runs Chroma in a child process and rebuilds when the store fails
    it (Chroma itself mends some of these from its SQLite log)."""
    before = built_at(built)
    HNSW_FAULTS[damage](built)
    ix._forget(built / "chroma")
    index = ix.open_index(CORPUS, EMB, built, progress=False)
    assert answers_right(index) and built_at(built) == before
    checked = ix.open_index(CORPUS, EMB, built, progress=False, check_store=True)
    assert answers_right(checked) and ix.verify_store(built / "chroma", checked.manifest)


def test_a_lock_file_that_is_a_fifo_is_one_clear_error(built: Path) -> None:
    os.mkfifo(built / ".lock")
    shutil.rmtree(built / "chroma")
    with deadline(60), pytest.raises(ix.IndexBuildError, match="not a regular file"):
        ix.open_index(CORPUS, EMB, built, progress=False)


def test_a_whole_index_is_not_rebuilt(built: Path) -> None:
    before = built_at(built)
    assert whole(reopen(built)) and built_at(built) == before


def test_a_changed_corpus_makes_the_index_stale(built: Path) -> None:
    pid = CORPUS.provisions[-1].id
    changed_entry = replace(CORPUS.curation[pid], summary_en="Changed summary: every intern gets a bicycle.")
    changed = Corpus(CORPUS.provisions, CORPUS.curation | {pid: changed_entry}, CORPUS.silent_topics)
    assert changed.fingerprint != CORPUS.fingerprint
    before = built_at(built)
    index = reopen(built, changed)
    assert built_at(built) > before and index.manifest["corpus"] == changed.fingerprint
    assert whole(index, corpus=changed)
    got = index.store._collection.get(where={"pid": pid}, include=["documents"])
    assert "Changed summary: every intern gets a bicycle." in got["documents"]
    # and back: the original corpus is stale against the changed index
    assert reopen(built).manifest["corpus"] == CORPUS.fingerprint


def test_an_index_built_with_another_model_is_rebuilt(built: Path) -> None:
    other = HashEmbeddings("hash-b", dim=48)
    index = reopen(built, emb=other)
    assert index.manifest["embeddings"] == "hash-b"
    assert whole(index, emb=other)
    got = index.store._collection.get(limit=1, include=["embeddings"])
    assert len(got["embeddings"][0]) == 48


def test_rebuild_on_request_works_twice_in_one_process(built: Path) -> None:
    """Regression: the second in-process build reused Chroma's cached client of moved files."""
    first = built_at(built)
    for _ in range(2):
        index = ix.open_index(CORPUS, EMB, built, progress=False, rebuild=True)
        assert whole(index)
    assert built_at(built) > first


def test_an_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ix.IndexBuildError, match="STAGECODE_INDEX_DIR"):
        ix.open_index(CORPUS, EMB, blocker / "index", progress=False)


def test_the_cli_says_what_to_do_when_the_index_cannot_be_written(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from assistant import cli

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code = cli.main(["index", "--index-dir", str(blocker / "index")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot write the index under") and "STAGECODE_INDEX_DIR" in err
    assert "Traceback" not in err


def test_the_real_index_is_reused_not_rebuilt(assistant, index_dir: str) -> None:  # type: ignore[no-untyped-def]
    from assistant.build import build
    from assistant.settings import Settings

    root = Path(index_dir)
    before = built_at(root)
    again = build(Settings(index_dir=Path(index_dir)), llm=False)
    assert built_at(root) == before
    assert [c.id for c in again.ask("Krijg ik mijn reiskosten vergoed?").citations][:1] == ["3B.vd.4"]


# -- processes -----------------------------------------------------------------------------------

CHILD = """
import json, sys, time
sys.path.insert(0, {tests!r})
from fakes import HashEmbeddings
from assistant.search import index as ix
from assistant.corpus.corpus import load_corpus
from assistant.corpus.corpus import Corpus
full = load_corpus()
corpus = Corpus(full.provisions[:16], {{p.id: full.curation[p.id] for p in full.provisions[:16]
                                        if p.id in full.curation}}, full.silent_topics)
emb = HashEmbeddings(delay={delay})
print("ready", flush=True)
go = __import__("pathlib").Path(sys.argv[2]) if sys.argv[2] else None
while go is not None and not go.exists():  # both children open at the same moment
    time.sleep(0.005)
index = ix.open_index(corpus, emb, __import__("pathlib").Path(sys.argv[1]), progress=False)
col = index.store._collection
probe = ix.entries(corpus)[::10]
ok = all(col.query(query_embeddings=[emb.embed_query(d.page_content)], n_results=1)["ids"][0][:1] == [d.id]
         for d in probe)
print(json.dumps({{"built": index.manifest["built"], "count": col.count(), "ok": ok}}), flush=True)
"""


def child(root: Path, go: Path | None, delay: float = 0.0) -> subprocess.Popen:
    """A process that opens the index at `root` once the file `go` exists (at once if None)."""
    code = CHILD.format(tests=str(Path(__file__).parent), delay=delay)
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code, str(root), str(go or "")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_processes_opening_a_fresh_index_at_once_build_it_once(tmp_path: Path) -> None:
    root, go = tmp_path / "index", tmp_path / "go"
    procs = [child(root, go, delay=0.05) for _ in range(2)]
    for p in procs:  # both have imported everything and wait
        assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.stderr
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.splitlines()[-1]))
    assert all(r["ok"] and r["count"] == len(ENTRIES) for r in results), results
    assert results[0]["built"] == results[1]["built"], "the index was built twice"
    assert not list(root.glob(".building-*")) and not list(root.glob(".old-*"))


@pytest.mark.slow
def test_a_build_killed_halfway_is_recovered(tmp_path: Path) -> None:
    root = tmp_path / "index"
    proc = child(root, None, delay=2.0)  # a slow build: its one batch of entries takes 2 s
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        deadline = time.time() + 60
        while not list(root.glob(".building-*")) and time.time() < deadline:
            time.sleep(0.05)
        assert list(root.glob(".building-*")), "the child never started building"
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert not (root / "chroma").exists()
    index = ix.open_index(CORPUS, EMB, root, progress=False)  # the dead child's lock is gone
    assert whole(index)
    assert not list(root.glob(".building-*")), "the crashed build's leftovers were not removed"


def test_search_is_exhaustive_so_answers_do_not_depend_on_the_process(assistant) -> None:  # type: ignore[no-untyped-def]
    """Regression: with Chroma's default search breadth the nearest entries were approximate and
    differed between processes (42 of 231 eval questions); the breadth now exceeds the entries."""
    col = assistant.retriever.index.store._collection
    hnsw = col.configuration_json["hnsw"]
    assert hnsw["ef_search"] >= col.count() and hnsw["space"] == "cosine"


@pytest.mark.slow
def test_the_store_check_fails_on_a_store_that_does_not_hold_what_was_built(built: Path) -> None:
    manifest = json.loads((built / "chroma" / ix.MANIFEST).read_text())
    assert ix.verify_store(built / "chroma", manifest)
    assert not ix.verify_store(built / "chroma", manifest | {"entries": manifest["entries"] + 1})
    truncate_sqlite(built)
    assert not ix.verify_store(built / "chroma", manifest)


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def _umount(where: Path) -> bool:
    """Unmount `where`. The files of a failed build may be released a moment after the error
    (a library thread closing them, a collected handle), so this tries for up to five seconds; a
    handle that is never released still fails."""
    for _ in range(50):
        if subprocess.run(["umount", str(where)], capture_output=True).returncode == 0:
            return True
        gc.collect()
        time.sleep(0.1)
    return False


def test_a_full_disk_during_a_build_is_one_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    small = tmp_path / "small"
    if not _mount_tmpfs(small, "400k"):
        pytest.skip("mounting a small tmpfs needs root and mount(8) here")
    try:
        with pytest.raises(ix.IndexBuildError, match="index under") as info:
            ix.open_index(CORPUS, EMB, small / "index", progress=False)
        assert "Traceback" not in str(info.value)
        assert not list((small / "index").glob(".building-*")) and not (small / "index" / "chroma").exists()
    finally:
        assert _umount(small)
