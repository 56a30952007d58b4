"""Shared fixtures: one real Assistant (real model, real Chroma) on a temporary index."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="session")
def assistant(index_dir: str):  # type: ignore[no-untyped-def]
    from assistant.build import build
    from assistant.settings import Settings

    return build(Settings().with_(index_dir=index_dir), llm=False)


@pytest.fixture(scope="session")
def session():  # type: ignore[no-untyped-def]
    """One isolated child session (no network, temp HOME), shared by the network and privacy tests."""
    from isolation import isolated_session

    s = isolated_session()
    assert s.returncode == 0, s.stderr[-4000:]
    assert s.result.get("checks", {}).get("done"), (s.result, s.stderr[-4000:])
    return s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(assistant) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The Gradio app on a free loopback port, over the session's assistant (one per module)."""
    from assistant.ui.app import build_app, launch_app

    demo = build_app(assistant)
    port = free_port()
    launch_app(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
