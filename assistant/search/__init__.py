"""Finding provisions: embeddings, the index (Chroma + BM25 + bank vectors) and the retriever."""
