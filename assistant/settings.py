"""Settings read once from the environment at the composition root and passed down from there.

Nothing below `build()` reads the environment: a module gets its paths and model names as
arguments, so a test or a second configuration in the same process cannot be overridden by an
environment variable read at import time.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.corpus.files import CHECKOUT, CorpusFiles, default_corpus_dir
from assistant.errors import SettingsError

DEFAULT_EMBEDDINGS = "use-multilingual"

#: library settings that keep every dependency offline and quiet (no telemetry, no hub calls)
OFFLINE_ENVIRONMENT = {
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def quiet_libraries(app: bool = False) -> None:
    """Set the offline/no-telemetry switches the libraries read, unless the user set them.

    Libraries read these from the process environment, so this is the one place we write it;
    it must run before chromadb, gradio or huggingface_hub is imported. For the app, Gradio's
    analytics are off whatever was set, and its temporary files go to a private folder.
    """
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    if app:
        os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
        if not os.environ.get("GRADIO_TEMP_DIR"):
            folder = tempfile.mkdtemp(prefix="stagecode-gradio-")
            os.environ["GRADIO_TEMP_DIR"] = folder
            atexit.register(shutil.rmtree, folder, ignore_errors=True)


def default_index_dir() -> Path:
    """`index/` in a checkout; the user's cache folder for an installed wheel."""
    if CHECKOUT is not None:
        return CHECKOUT / "index"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "stagecode" / "index"


@dataclass(frozen=True)
class Settings:
    """Paths and model choices for one assistant."""

    corpus_dir: Path = field(default_factory=default_corpus_dir)
    index_dir: Path = field(default_factory=default_index_dir)
    embeddings: str = DEFAULT_EMBEDDINGS
    #: language-model backend spec ("none", "ollama:<model>", ...); see `assistant.llm.backends`
    llm: str = "none"
    #: the STAGECODE_LLM_* values the backend reads (base URL, API key, timeout)
    llm_env: Mapping[str, str] = field(default_factory=dict)
    #: answers the app computes at once (Gradio's queue); language-model streams have as many again
    concurrency: int = 4

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from `STAGECODE_*` variables; non-None keyword overrides (CLI flags) win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        if env.get("STAGECODE_CORPUS_DIR"):
            values["corpus_dir"] = Path(env["STAGECODE_CORPUS_DIR"])
        if env.get("STAGECODE_INDEX_DIR"):
            values["index_dir"] = Path(env["STAGECODE_INDEX_DIR"])
        if (env.get("STAGECODE_EMBEDDINGS") or "").strip():
            values["embeddings"] = env["STAGECODE_EMBEDDINGS"].strip()
        if (env.get("STAGECODE_LLM") or "").strip():
            values["llm"] = env["STAGECODE_LLM"].strip()
        values["llm_env"] = {k: v for k, v in env.items() if k.startswith("STAGECODE_LLM_")}
        if (raw := (env.get("STAGECODE_CONCURRENCY") or "").strip()):
            if not raw.isdigit() or not 1 <= int(raw) <= 64:
                raise SettingsError(f"STAGECODE_CONCURRENCY must be a whole number from 1 to 64, not {raw!r}")
            values["concurrency"] = int(raw)
        settings = cls(**values)  # type: ignore[arg-type]
        return settings.with_(**overrides)

    def with_(self, **overrides: object) -> Settings:
        """A copy with the given (non-None) values; paths given as text become paths."""
        given = {k: v for k, v in overrides.items() if v is not None}
        for key in ("corpus_dir", "index_dir"):
            if key in given:
                given[key] = Path(str(given[key]))
        return replace(self, **given)  # type: ignore[arg-type]

    @property
    def corpus_files(self) -> CorpusFiles:
        return CorpusFiles(self.corpus_dir)

    @property
    def report_dir(self) -> Path:
        """Where `stagecode eval` and `stagecode train` write their reports."""
        return CHECKOUT / "eval" if CHECKOUT is not None else Path.cwd() / "stagecode-eval"
