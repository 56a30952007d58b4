"""Language-model backends for the optional generative answers: spec parsing and model building.

A backend is named by one spec, from `--llm` or the `STAGECODE_LLM` environment variable:

    none                      the deterministic answer only (the default)
    ollama:<model>            a local Ollama server (langchain-ollama)
    openai:<model>            any OpenAI-compatible server at STAGECODE_LLM_BASE_URL (langchain-openai)
    llamacpp:<path>.gguf      a GGUF file run in-process by llama-cpp-python (langchain-community)

Provider packages are imported only when a backend is built, so the default install never needs
them; a missing one raises `LLMConfigError` naming the pip command.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import BackendError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

ENV_SPEC = "STAGECODE_LLM"
ENV_BASE_URL = "STAGECODE_LLM_BASE_URL"
ENV_API_KEY = "STAGECODE_LLM_API_KEY"
ENV_TIMEOUT = "STAGECODE_LLM_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
MAX_TOKENS = 400
LLAMACPP_CONTEXT = 4096

PROVIDERS = ("ollama", "openai", "llamacpp")
LLAMACPP_INSTALL = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" '
    "pip install llama-cpp-python"
)
#: module to import → pip command that provides it
_PACKAGES = {
    "langchain_ollama": "pip install langchain-ollama",
    "langchain_openai": "pip install langchain-openai",
    "llama_cpp": LLAMACPP_INSTALL,
}
_PIP = {"ollama": _PACKAGES["langchain_ollama"], "openai": _PACKAGES["langchain_openai"],
        "llamacpp": _PACKAGES["llama_cpp"]}
USAGE = (
    "use none, ollama:<model>, openai:<model> (with STAGECODE_LLM_BASE_URL) or "
    "llamacpp:<path to a .gguf file>"
)


class LLMConfigError(BackendError, ValueError):
    """A backend spec or setting that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class BackendSpec:
    """A parsed backend spec: provider, model (a path for llamacpp) and base URL."""

    provider: str
    model: str
    base_url: str | None = None
    api_key: str | None = None

    @property
    def name(self) -> str:
        """'ollama:llama3', 'openai:qwen2.5', 'llamacpp:<file name>' — for `Answer.produced_by`."""
        model = Path(self.model).name if self.provider == "llamacpp" else self.model
        return f"{self.provider}:{model}"


def parse_spec(spec: str | None = None, env: Mapping[str, str] | None = None) -> BackendSpec | None:
    """The backend for a spec (None: `STAGECODE_LLM` in `env`, the settings' STAGECODE_LLM_*
    values); None for `none` or nothing set."""
    env = env or {}
    raw = (env.get(ENV_SPEC, "") if spec is None else spec).strip()
    if not raw or raw.lower() == "none":
        return None
    provider, sep, model = raw.partition(":")
    provider, model = provider.strip().lower(), model.strip()
    if provider not in PROVIDERS:
        raise LLMConfigError(f"unknown language-model backend {raw!r}; {USAGE}")
    if not sep or not model:
        raise LLMConfigError(f"the {provider} backend needs a model: {provider}:<model>; {USAGE}")
    base_url = (env.get(ENV_BASE_URL) or "").strip() or None
    api_key = (env.get(ENV_API_KEY) or "").strip() or None
    if provider == "openai" and not base_url:
        raise LLMConfigError(
            f"openai:{model} needs the server's address in {ENV_BASE_URL}, e.g. "
            "http://127.0.0.1:8080/v1 (any OpenAI-compatible server; nothing is sent anywhere "
            "you did not name)"
        )
    if provider == "llamacpp":
        if not model.lower().endswith(".gguf"):
            raise LLMConfigError(f"llamacpp:<path> must name a .gguf file, not {model!r}")
        return BackendSpec(provider, model)
    return BackendSpec(provider, model, base_url, api_key)


def timeout_from_env(env: Mapping[str, str] | None = None) -> float:
    """Seconds to wait for a whole generated answer (`STAGECODE_LLM_TIMEOUT`, default 60)."""
    env = env or {}
    raw = (env.get(ENV_TIMEOUT) or "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise LLMConfigError(f"{ENV_TIMEOUT} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise LLMConfigError(f"{ENV_TIMEOUT} must be more than 0 seconds")
    return value


def require(module: str) -> None:
    """Import a provider module, or raise `LLMConfigError` with the pip command for it."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        pip = _PACKAGES.get(module, f"pip install {module.replace('_', '-')}")
        raise LLMConfigError(
            f"this language-model backend needs the {module!r} package, which is not installed "
            f"({exc}). Install it with: {pip}"
        ) from None


def build_chat_model(spec: BackendSpec, timeout: float = DEFAULT_TIMEOUT,
                     max_tokens: int = MAX_TOKENS) -> BaseChatModel:
    """The LangChain chat model for a backend: deterministic sampling, bounded output and time."""
    try:
        return _build(spec, timeout, max_tokens)
    except ImportError as exc:  # a provider package installed without one of its dependencies
        raise LLMConfigError(
            f"the {spec.provider} backend could not be loaded: {exc}. Reinstall its package "
            f"with its dependencies ({_PIP[spec.provider]})"
        ) from None


def _build(spec: BackendSpec, timeout: float, max_tokens: int) -> BaseChatModel:
    if spec.provider == "llamacpp":
        path = Path(spec.model).expanduser()
        if not path.is_file():
            raise LLMConfigError(f"no GGUF model file at {path}")
        require("llama_cpp")
        from langchain_community.chat_models import ChatLlamaCpp

        # n_batch: the prompt in one pass (the default of 8 makes a 1,500-token prompt take
        # minutes); n_threads: all cores (llama.cpp's default is half of them)
        return ChatLlamaCpp(model_path=str(path), n_ctx=LLAMACPP_CONTEXT, n_batch=512,
                            n_threads=os.cpu_count() or 1, max_tokens=max_tokens, temperature=0.0,
                            streaming=True, verbose=False)

    from langchain.chat_models import init_chat_model

    if spec.provider == "ollama":
        require("langchain_ollama")
        extra: dict[str, object] = {"base_url": spec.base_url} if spec.base_url else {}
        return init_chat_model(spec.model, model_provider="ollama", temperature=0.0,
                               num_predict=max_tokens, client_kwargs={"timeout": timeout}, **extra)
    require("langchain_openai")
    return init_chat_model(spec.model, model_provider="openai", base_url=spec.base_url,
                           api_key=spec.api_key or "not-needed", temperature=0.0,
                           max_tokens=max_tokens, timeout=timeout, max_retries=0)
