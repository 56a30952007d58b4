"""The heavy single requests and the failover, measured: long chats through the app's `/chat`
(60 messages of 2,000 characters; a 2,000-character question and 60 short follow-ups) and the
first of them through `stagecode ask --batch`, request bodies of 50 MB (declared and streamed),
a question of 50 MB on the batch path, and two replicas behind nginx with one killed
mid-conversation. Prints one table of figures.

    .venv/bin/python bench/edges.py [--index-dir DIR] [--no-replicas]

Bounded: a fixed number of requests, all to 127.0.0.1; the replica part needs Debian's nginx.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
FIRST = "Krijg ik een onkostenvergoeding tijdens mijn stage?"
LONG_FOLLOW = ("En hoe zit dat dan " + "precies " * 248)[:2000]  # 2,000 characters: the length limit
LONG_FIRST = (FIRST + " Ik vraag het omdat " + "mijn stage lang duurt " * 100)[:2000]
SHORT_FOLLOW = "En wie betaalt dat dan?"
FOLLOW_UPS = 60
HUGE = 50 * 1024 * 1024


def _chat(client, first: str, follow: str) -> tuple[list[float], int]:  # type: ignore[no-untyped-def]
    """One conversation: `first`, then FOLLOW_UPS times `follow`; latencies and the longest
    text searched for one of the follow-ups."""
    client.predict(first, "student", "auto", True, api_name="/chat")
    times, longest = [], 0
    for _ in range(FOLLOW_UPS):
        t0 = time.perf_counter()
        got = client.predict(follow, "student", "auto", False, api_name="/chat")
        times.append(time.perf_counter() - t0)
        longest = max(longest, len(got["resolved_question"] or follow))
    return times, longest


def long_chat_app(load: ModuleType, index_dir: str) -> list[tuple[str, str]]:
    """Long chats in one `/chat` session each: latency, the searched text, server memory."""
    from gradio_client import Client

    with load.server(index_dir) as (proc, url):
        client = Client(url, verbose=False, httpx_kwargs={"timeout": 120})
        client.predict(FIRST, "student", "auto", True, api_name="/chat")  # warm-up before measuring
        before = load.rss_mb(proc.pid)
        long_times, long_text = _chat(client, FIRST, LONG_FOLLOW)
        short_times, short_text = _chat(client, LONG_FIRST, SHORT_FOLLOW)
        after = load.rss_mb(proc.pid)
    return [("app /chat: a question, then 60 messages of 2,000 characters: latency p50 / max, longest text searched for them",
             f"{statistics.median(long_times) * 1000:.0f} / {max(long_times) * 1000:.0f} ms, {long_text:,} characters"),
            ("app /chat: a 2,000-character question, then 60 short follow-ups: latency p50 / max, longest text searched for them",
             f"{statistics.median(short_times) * 1000:.0f} / {max(short_times) * 1000:.0f} ms, {short_text:,} characters"),
            ("app /chat: server RSS before / after both chats", f"{before:.0f} / {after:.0f} MB")]


def _batch(lines: list[dict], index_dir: str) -> tuple[float, float, int]:
    """Run `stagecode ask --batch` on these lines: (seconds, peak RSS in MB, exit code)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batch.jsonl"
        path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
        code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
                "stderr=subprocess.DEVNULL).returncode; print(r, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "assistant.cli", "ask", "--batch",
                              str(path), "--json", "--index-dir", index_dir],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        return time.perf_counter() - t0, int(out[1]) / 1024, int(out[0])


def batch_cases(index_dir: str) -> list[tuple[str, str]]:
    chat = [{"id": 0, "question": FIRST, "conversation": "c"}]
    chat += [{"id": i, "question": LONG_FOLLOW, "conversation": "c"} for i in range(1, FOLLOW_UPS + 1)]
    secs, rss, _ = _batch(chat, index_dir)
    huge_secs, huge_rss, huge_code = _batch([{"id": "huge", "question": "stage " * (HUGE // 6)}], index_dir)
    return [("batch: one conversation of a question and 60 messages of 2,000 characters, wall / peak RSS",
             f"{secs:.1f} s / {rss:.0f} MB (model load included)"),
            ("batch: one 50 MB question, wall / peak RSS / exit code",
             f"{huge_secs:.1f} s / {huge_rss:.0f} MB / {huge_code}")]


def huge_bodies(load: ModuleType, index_dir: str) -> list[tuple[str, str]]:
    """50 MB request bodies, declared and streamed, to the app: status, time, server memory."""
    import httpx

    rows = []
    with load.server(index_dir) as (proc, url):
        before = load.rss_mb(proc.pid)
        payload = b'{"data": ["' + b"x" * HUGE + b'", "student", "auto", true]}'

        def streamed():  # no Content-Length: the limit must hold while reading
            for i in range(0, len(payload), 1 << 20):
                yield payload[i:i + (1 << 20)]

        for name, body in (("declared", payload), ("streamed", streamed())):
            t0 = time.perf_counter()
            try:
                status = str(httpx.post(f"{url}gradio_api/call/chat", content=body, timeout=60,
                                        headers={"Content-Type": "application/json"}).status_code)
            except httpx.HTTPError as exc:  # the server may close the connection once it refused
                status = type(exc).__name__
            rows.append((f"app: a 50 MB body, {name}: status / time", f"{status} / {(time.perf_counter() - t0) * 1000:.0f} ms"))
        rows.append(("app: server RSS before / after the two bodies", f"{before:.0f} / {load.rss_mb(proc.pid):.0f} MB"))
    return rows


def failover(index_dir: str, users: int = 16) -> list[tuple[str, str]]:
    """Two replicas behind nginx; one killed between two turns of `users` conversations."""
    import replicas  # deploy/replicas.py
    from gradio_client import Client

    from assistant.answering.render import TEXTS

    with replicas.Cluster(2, index_dir=index_dir) as cluster:
        clients = [Client(cluster.url, verbose=False, httpx_kwargs={"timeout": 60}) for _ in range(users)]
        for c in clients:
            c.predict(FIRST, "student", "auto", True, api_name="/chat")
        cluster.kill(0)
        stayed = moved = told = errors = 0
        times = []
        for c in clients:
            t0 = time.perf_counter()
            try:
                got = c.predict("En geldt dat ook voor duale studenten?", "student", "auto", False, api_name="/chat")
            except Exception:  # counted: a user who saw an error
                errors += 1
                continue
            times.append(time.perf_counter() - t0)
            stayed, moved = (stayed + 1, moved) if got["resolved_question"] else (stayed, moved + 1)
            told += got["resolved_question"] is None and got["answer"].startswith(TEXTS["nl"]["no_context"])
        alive = cluster.apps[1].poll() is None and cluster.nginx.poll() is None
    return [("replicas: 16 conversations, one of 2 replicas killed between turns",
             f"{stayed} kept their conversation, {moved} moved ({told} told it was reset), {errors} errors"),
            ("replicas: next answer after the kill, p50 / max", f"{statistics.median(times) * 1000:.0f} / "
                                                               f"{max(times) * 1000:.0f} ms" if times else "–"),
            ("replicas: the other replica and nginx still running", "yes" if alive else "no")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", default=str(ROOT / "index"))
    parser.add_argument("--no-replicas", action="store_true", help="skip the nginx failover part")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "deploy")]
    os.environ.pop("STAGECODE_LLM", None)
    from assistant.build import build
    from assistant.settings import Settings

    build(Settings.from_env(index_dir=args.index_dir), llm=False)  # builds the index if needed
    import load  # bench/load.py
    rows = long_chat_app(load, args.index_dir) + batch_cases(args.index_dir) + huge_bodies(load, args.index_dir)
    if not args.no_replicas:
        rows += failover(args.index_dir)
    print("| case | figure |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
