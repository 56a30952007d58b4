"""Privacy: by default no question text is written to disk or to logs.

One isolated session (tests/isolation.py) asks questions carrying a unique marker through
`Assistant.ask`, the CLI, the app's API and its chat; HOME, TMPDIR, GRADIO_TEMP_DIR, the index
and the working directory all point into a private tree. Afterwards every file in that tree,
every file changed in the repository or the temp folders since it started, every file it
opened for writing, and its output are searched for the marker.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from isolation import ROOT

MAX_BYTES = 50_000_000




SKIP_DIRS = {".venv", ".git"}  # installed packages and git's store: what the session wrote
# there (bytecode) is in its list of files opened for writing, searched as well


def files_under(root: Path, since: float | None = None) -> Iterator[Path]:
    for folder, dirs, names in os.walk(root, onerror=lambda e: None):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in names:
            path = Path(folder, name)
            try:
                st = path.lstat()
            except OSError:
                continue
            # only regular files: reading a FIFO another process left in /tmp would block forever
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
                continue
            if since is None or st.st_mtime >= since or st.st_ctime >= since:
                yield path


def holders(paths: set[Path], marker: str) -> list[str]:
    needles = (marker.encode(), marker.upper().encode(), marker.encode("utf-16-le"))
    found = []
    for path in sorted(paths):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if any(n in data for n in needles):
            found.append(str(path))
    return found


@pytest.mark.slow
def test_the_session_asked_with_the_marker(session) -> None:  # type: ignore[no-untyped-def]
    checks = session.result["checks"]
    assert checks["ask"] == ["3B.vd.4"] and checks["api_ask"] == ["3B.vd.4"] and checks["ui_cites"]


@pytest.mark.slow
def test_no_file_holds_a_question(session) -> None:  # type: ignore[no-untyped-def]
    paths = set(files_under(session.tree))
    assert any(p.name == "chroma.sqlite3" for p in paths), "the index was not in the private tree"
    paths |= set(files_under(ROOT, since=session.started))
    for tmp in {Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")}:
        if tmp.is_dir():
            paths |= {p for p in files_under(tmp, since=session.started) if session.tree not in p.parents}
    paths |= {Path(p) for p in session.result["writes"] if Path(p).is_file()}
    assert holders(paths, session.marker) == []


@pytest.mark.slow
def test_no_log_or_output_holds_a_question(session) -> None:  # type: ignore[no-untyped-def]
    assert session.marker not in session.stderr
    assert session.marker not in session.stdout  # the CLI's answer and the app's messages
    assert "Running on local URL" in session.stdout  # the app's own log was captured


def test_the_app_keeps_api_conversations_in_memory_with_a_cap() -> None:
    from assistant.ui.sessions import Sessions as _Sessions

    sessions = _Sessions(cap=3, ttl=3600, turns=2)
    convs = [sessions.get(f"s{i}") for i in range(5)]
    assert len(sessions) == 3 and sessions.get("s4") is convs[4] and sessions.get("s0") is not convs[0]
    assert sessions.get("s4", new=True) is not convs[4]
    lru = _Sessions(cap=2)
    lru.get("a")
    lru.get("b")
    renewed = lru.get("a", new=True)  # starting over counts as use: "b" is now the oldest
    lru.get("c")
    assert lru.get("a") is renewed and len(lru) == 2


def test_an_unexpected_api_error_logs_no_question(assistant, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """Gradio prints the traceback of an unexpected error; the API turns it into a plain message."""
    import gradio as gr

    from assistant.ui.handlers import Handlers as _Handlers
    from assistant.ui.texts import UI

    h = _Handlers(assistant)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"failed on {args[0]!r}")

    monkeypatch.setattr(h, "ask", boom)
    for call in (lambda: h.api_ask("secret question zqprivate", "student", "auto"),
                 lambda: h.api_chat("secret question zqprivate", "student", "auto", False, "s1")):
        with pytest.raises(gr.Error) as err:
            call()
        assert err.value.message == UI["en"]["error"] and err.value.print_exception is False
    out = capsys.readouterr()
    assert "zqprivate" not in out.out + out.err and "RuntimeError" in out.out
