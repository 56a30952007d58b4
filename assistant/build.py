"""The composition root: settings in, a ready `Assistant` out. The CLI, the app, the evaluation
and the benchmark all build their assistant here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.settings import Settings, quiet_libraries

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from assistant.assistant import Assistant
    from assistant.corpus.corpus import Corpus


def build(settings: Settings | None = None, *, progress: bool = False, rebuild: bool = False,
          corpus: Corpus | None = None, embeddings: Embeddings | None = None,
          llm: bool = True, check_store: bool = False) -> Assistant:
    """Open (building if needed) the index and learned model for the settings' corpus and model.

    The language-model backend is set up first, so a bad spec fails before the slow part.
    `corpus` and `embeddings` may be passed in when the caller already has them (the eval
    compares models on one corpus); `llm=False` leaves the generative path out; `check_store`
    also cross-checks the Chroma store (slower; `stagecode index` does).
    """
    quiet_libraries()
    from assistant.assistant import Assistant
    from assistant.corpus.corpus import load_corpus
    from assistant.search.embeddings import load_embeddings
    from assistant.search.index import open_index
    from assistant.search.retrieve import Retriever
    from assistant.training.store import learned_model

    settings = settings or Settings.from_env()
    generator = None
    if llm:
        from assistant.llm.generate import Generator

        generator = Generator.from_spec(settings.llm, env=settings.llm_env)
    corpus = corpus or load_corpus(settings.corpus_files)
    corpus.require_complete()
    emb = embeddings or load_embeddings(settings.embeddings)
    index = open_index(corpus, emb, settings.index_dir, progress, rebuild, check_store)
    model = learned_model(corpus, emb, settings.index_dir, index.manifest.get("bank", ""), progress)
    # Answering is many small matrix products, often several at once (the app): with more than one
    # BLAS thread each, OpenBLAS threads spin-wait on each other (85 ms of CPU per app request
    # instead of 13). Index builds and training, above, are done by now.
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    return Assistant(corpus, Retriever(corpus, index, emb, model), generator)
