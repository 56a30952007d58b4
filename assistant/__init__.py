"""Stagecode assistant: answers questions about the Stagecode hbo, citing exact provisions."""

__version__ = "0.1.0"
