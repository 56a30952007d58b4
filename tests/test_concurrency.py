"""Concurrency: 50 simultaneous gradio_client sessions on loopback, 10 questions each,
through the stateful `/chat` endpoint. No errors; every answer is exactly what the same
conversation gets alone (no history bleeding between users); p50/p95 latency reported.

The app runs in its own process (as it does for users), on the session's index.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant.answering.conversation import Conversation

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 50
TURNS = 10

SERVER = """
import socket, sys
from assistant.build import build
from assistant.settings import Settings
from assistant.ui.app import build_app, launch_app
demo = build_app(build(Settings().with_(index_dir=sys.argv[1]), llm=False))
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
launch_app(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
print("URL", f"http://127.0.0.1:{port}/", flush=True)
sys.stdin.read()  # until the test closes it
demo.close()
"""


def conversations() -> list[list[dict]]:
    """The evaluation's follow-up conversations, each a list of its turns in order."""
    chats: dict[str, list[dict]] = {}
    for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line) if line.strip() else {}
        if q.get("conversation"):
            chats.setdefault(q["conversation"], []).append(q)
    return list(chats.values())


def script(n: int) -> list[tuple[str, str, bool]]:
    """Client n's 10 turns (question, role, starts a conversation): whole conversations, rotated
    by n so that neighbours are in different conversations at the same moment."""
    chats = conversations()
    turns: list[tuple[str, str, bool]] = []
    i = n
    while len(turns) < TURNS:
        chat = chats[i % len(chats)]
        turns += [(q["question"], q["role"], k == 0) for k, q in enumerate(chat)]
        i += 1
    return turns[:TURNS]


def alone(assistant, turns: list[tuple[str, str, bool]]) -> list[dict]:  # type: ignore[no-untyped-def]
    """What one user gets asking these turns alone, in this process."""
    out, conv = [], Conversation()
    for question, role, new in turns:
        conv = Conversation() if new else conv
        a = assistant.ask(question, role, None, conv)
        out.append(a.to_public_json() | {"resolved_question": a.resolved_question})
    return out


@pytest.fixture(scope="module")
def server(assistant, index_dir: str):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "STAGECODE_LLM"} | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SERVER, index_dir], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("URL "), (line, proc.stderr.read() if proc.poll() is not None else "")
        yield line.split()[1]
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_50_sessions_at_once_each_get_their_own_conversation(assistant, server: str) -> None:  # type: ignore[no-untyped-def]
    from gradio_client import Client

    scripts = [script(n) for n in range(CLIENTS)]
    expected = {}
    for turns in scripts:
        if tuple(turns) not in expected:
            expected[tuple(turns)] = alone(assistant, turns)
    results: dict[int, list[dict]] = {}
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(CLIENTS)

    def user(n: int) -> None:
        try:
            client = Client(server, verbose=False, httpx_kwargs={"timeout": 300})
            ready.wait(timeout=120)
            got = []
            for question, role, new in scripts[n]:
                t0 = time.perf_counter()
                got.append(client.predict(question, role, "auto", new, api_name="/chat"))
                with lock:
                    latencies.append(time.perf_counter() - t0)
            results[n] = got
        except Exception as exc:  # reported below, with the client's number
            with lock:
                errors.append(f"client {n}: {type(exc).__name__}: {exc}")
            ready.abort()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    wall = time.perf_counter() - t0
    assert not errors, errors[:5]
    assert len(results) == CLIENTS and len(latencies) == CLIENTS * TURNS
    for n, got in results.items():
        want = expected[tuple(scripts[n])]
        for turn, (g, w) in enumerate(zip(got, want, strict=True)):
            assert g == w, (f"client {n} turn {turn}: {scripts[n][turn][0]!r} resolved "
                            f"{g['resolved_question']!r}, alone {w['resolved_question']!r}; cited "
                            f"{[c['id'] for c in g['citations']]}, alone {[c['id'] for c in w['citations']]}")
    follow_ups = sum(1 for got in results.values() for g in got if g["resolved_question"])
    assert follow_ups >= CLIENTS * 3  # the conversations really were resolved against their own turns
    ms = sorted(x * 1000 for x in latencies)
    p50, p95 = statistics.median(ms), ms[int(0.95 * len(ms)) - 1]
    print(f"\nconcurrency: {CLIENTS} sessions x {TURNS} questions in {wall:.1f} s "
          f"({len(ms) / wall:.1f} answers/s); latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms")
