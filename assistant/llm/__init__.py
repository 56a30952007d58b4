"""Optional generative answers: chat-model backends, the generator and its citation guard."""
