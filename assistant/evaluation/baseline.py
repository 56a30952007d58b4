"""The textbook RAG recipe the evaluation and the benchmark compare against: fixed 1,000/200-
character chunks, one temporary Chroma collection, dense search only, top 4, never abstains."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from langchain_core.embeddings import Embeddings

from assistant.corpus.corpus import Corpus
from assistant.corpus.parse import body_text
from assistant.corpus.source import read_source


class TextbookBaseline:
    """Chunks of the source in a throw-away Chroma collection; `close()` removes it."""

    def __init__(self, corpus: Corpus, embeddings: Embeddings) -> None:
        from langchain_chroma import Chroma
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from assistant.search.index import _client

        self.corpus = corpus
        self.chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_text(
            body_text(read_source(corpus.files.source)))
        self._path = Path(tempfile.mkdtemp(prefix="stagecode-baseline-"))
        self._store = Chroma(collection_name="chunks", embedding_function=embeddings,
                             client=_client(self._path), collection_metadata={"hnsw:space": "cosine"})
        self._store.add_texts(self.chunks, ids=[str(i) for i in range(len(self.chunks))])

    def search(self, question: str) -> tuple[list[str], str]:
        """The provisions the top 4 chunks "cite" (those whose text begins inside a chunk), and the chunks."""
        docs = self._store.similarity_search(question, k=4)
        cited: list[str] = []
        for d in docs:
            cited += [p.id for p in self.corpus.provisions if p.id not in cited and p.text[:60] in d.page_content]
        return cited, "\n".join(d.page_content for d in docs)

    def close(self) -> None:
        shutil.rmtree(self._path, ignore_errors=True)
