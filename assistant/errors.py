"""One family of errors: every error a user can cause or meet is a `StagecodeError`, whose
message says what to change, so the CLI and the UI catch the one base and print one line."""

from __future__ import annotations

from pathlib import Path


class StagecodeError(Exception):
    """Base of every error the assistant reports to its user."""


class SettingsError(StagecodeError, ValueError):
    """A setting (an environment variable or a flag) that cannot be used; the message names it."""


class InputError(StagecodeError, ValueError):
    """A question or option the assistant cannot take; the message says what to change."""


class CorpusError(StagecodeError, ValueError):
    """The source, the curated layer or the question bank cannot be used as it is."""


class SourceError(CorpusError):
    """A source document cannot be read; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class IndexBuildError(StagecodeError, RuntimeError):
    """The index or the learned model cannot be built or opened; the message says what to do."""


class BackendError(StagecodeError, RuntimeError):
    """An embedding or language-model backend cannot be loaded or configured."""
