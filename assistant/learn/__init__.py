"""Learned ranking and answer decisions, trained from the question bank in corpus/questions/."""
