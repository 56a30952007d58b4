"""Language handling shared by search and answering: tokens, language detection, the lexicon."""
