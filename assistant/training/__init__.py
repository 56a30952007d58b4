"""Training the learned models from the question bank (`stagecode train`), and choosing which
model answers: the shipped one when it fits the bank, corpus and embeddings, else one trained here."""
