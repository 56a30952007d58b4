"""Load test: N concurrent gradio_client sessions on loopback, each asking its questions (with
follow-ups) through the stateful `/chat` endpoint of one app process. Prints errors, latency
percentiles, throughput, the server's resident memory before and after, and whether every
session got exactly the answers its conversation gets alone (no context leaking between users).

Users read an answer before they ask again: with `--think T` each client asks its first question
at a random moment in the first T seconds and waits between 0.5 T and 1.5 T (seeded) after each
answer. `--think 0` has every client ask again the moment it has its answer: a stress run whose
latency is set by throughput (N clients / answers per second), not by the cost of one answer.

    .venv/bin/python bench/load.py [--clients 200] [--turns 10] [--think 20] [--index-dir DIR]

Bounded: at most clients x turns requests, all to 127.0.0.1, and a deadline for the whole run.
`tests/test_concurrency.py` runs the same code with 50 clients and asserts on it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = """
import socket, sys
from assistant.build import build
from assistant.settings import Settings
from assistant.ui.app import build_app, launch_app
settings = Settings.from_env(index_dir=sys.argv[1])
demo = build_app(build(settings, llm=False), settings.concurrency)
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
launch_app(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
print("URL", f"http://127.0.0.1:{port}/", flush=True)
sys.stdin.read()  # until the caller closes it
demo.close()
"""

Turn = tuple[str, str, bool]  # question, role, starts a new conversation


@contextmanager
def server(index_dir: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """The app in a process of its own, as users meet it; yields (process, URL)."""
    env = {k: v for k, v in os.environ.items() if k != "STAGECODE_LLM"} | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SERVER, index_dir], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("URL "):
            raise RuntimeError(f"the app did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
        yield proc, line.split()[1]
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rss_mb(pid: int) -> float:
    """A process's resident memory now (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def conversations() -> list[list[dict]]:
    """The evaluation's follow-up conversations, each a list of its turns in order."""
    chats: dict[str, list[dict]] = {}
    for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line) if line.strip() else {}
        if q.get("conversation"):
            chats.setdefault(q["conversation"], []).append(q)
    return list(chats.values())


def script(n: int, turns: int) -> list[Turn]:
    """Client n's turns: whole conversations, rotated by n so that neighbours are in different
    conversations at the same moment."""
    chats = conversations()
    out: list[Turn] = []
    i = n
    while len(out) < turns:
        chat = chats[i % len(chats)]
        out += [(q["question"], q["role"], k == 0) for k, q in enumerate(chat)]
        i += 1
    return out[:turns]


def alone(assistant, turns: list[Turn]) -> list[dict]:  # type: ignore[no-untyped-def]
    """What one user gets asking these turns alone, in this process."""
    from assistant.answering.conversation import Conversation

    out, conv = [], Conversation()
    for question, role, new in turns:
        conv = Conversation() if new else conv
        a = assistant.ask(question, role, None, conv)
        out.append(a.to_public_json() | {"resolved_question": a.resolved_question})
    return out


@dataclass
class Load:
    """What a run saw: each client's answers, every latency (s), errors, the wall time."""

    results: dict[int, list[dict]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0

    def leaks(self, scripts: list[list[Turn]], expected: dict[tuple, list[dict]]) -> list[str]:
        """Turns whose answer differs from the same conversation asked alone."""
        out = []
        for n, got in self.results.items():
            for turn, (g, w) in enumerate(zip(got, expected[tuple(scripts[n])], strict=True)):
                if g != w:
                    out.append(f"client {n} turn {turn}: resolved {g['resolved_question']!r}, "
                               f"alone {w['resolved_question']!r}")
        return out

    def percentile(self, q: float) -> float:
        ms = sorted(x * 1000 for x in self.latencies)
        return ms[max(0, min(len(ms) - 1, round(q * len(ms)) - 1))] if ms else 0.0


def run(url: str, scripts: list[list[Turn]], deadline: float = 900.0, think: float = 0.0) -> Load:
    """Every client at once, each in its own gradio_client session; with `think` > 0 each reads
    an answer for a random 0.5-1.5 x `think` seconds (seeded by the client's number) before it
    asks again, and the first questions are spread over the first `think` seconds."""
    from gradio_client import Client

    load, lock = Load(), threading.Lock()
    ready = threading.Barrier(len(scripts))

    def user(n: int) -> None:
        try:
            client = Client(url, verbose=False, httpx_kwargs={"timeout": 300})
            ready.wait(timeout=300)
            pause = random.Random(n)
            time.sleep(pause.uniform(0, think))
            got = []
            for turn, (question, role, new) in enumerate(scripts[n]):
                if turn:
                    time.sleep(pause.uniform(0.5 * think, 1.5 * think))
                t0 = time.perf_counter()
                got.append(client.predict(question, role, "auto", new, api_name="/chat"))
                with lock:
                    load.latencies.append(time.perf_counter() - t0)
            load.results[n] = got
        except Exception as exc:  # counted and reported with the client's number
            with lock:
                load.errors.append(f"client {n}: {type(exc).__name__}: {exc}")
            ready.abort()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(len(scripts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, deadline - (time.perf_counter() - t0)))
    load.wall = time.perf_counter() - t0
    return load


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--think", type=float, default=20.0,
                        help="mean seconds a user reads an answer before asking again (0: at once)")
    parser.add_argument("--index-dir", default=str(ROOT / "index"))
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from assistant.build import build
    from assistant.settings import Settings

    assistant = build(Settings.from_env(index_dir=args.index_dir), llm=False)  # builds the index if needed
    scripts = [script(n, args.turns) for n in range(args.clients)]
    expected = {tuple(s): alone(assistant, s) for s in scripts}
    with server(args.index_dir) as (proc, url):
        before, server_cpu, own = rss_mb(proc.pid), cpu_seconds(proc.pid), os.times()
        load = run(url, scripts, think=args.think)
        after, server_cpu = rss_mb(proc.pid), cpu_seconds(proc.pid) - server_cpu
        client_cpu = sum(os.times()[:2]) - sum(own[:2])
    leaks = load.leaks(scripts, expected)
    n = len(load.latencies)
    print(f"| load | {args.clients} sessions x {args.turns} questions (/chat, with follow-ups), "
          f"think time {args.think:g} s, loopback |")
    print("|---|---|")
    for name, value in [
        ("answers", f"{n} of {args.clients * args.turns}"), ("errors", str(len(load.errors))),
        ("wall", f"{load.wall:.1f} s ({n / load.wall:.1f} answers/s)"),
        ("latency p50 / p95 / p99", f"{statistics.median([x * 1000 for x in load.latencies]) if n else 0:.0f} / "
                                    f"{load.percentile(0.95):.0f} / {load.percentile(0.99):.0f} ms"),
        ("server RSS before / after", f"{before:.0f} / {after:.0f} MB"),
        ("CPU per answer: server / the clients", f"{server_cpu / max(n, 1) * 1000:.0f} / "
                                                f"{client_cpu / max(n, 1) * 1000:.0f} ms ({os.cpu_count()} cores)"),
        ("answers that differ from the same conversation alone", str(len(leaks))),
    ]:
        print(f"| {name} | {value} |")
    for line in (load.errors + leaks)[:5]:
        print(line, file=sys.stderr)
    return 1 if load.errors or leaks else 0


if __name__ == "__main__":
    sys.exit(main())
