"""Concurrency: 50 simultaneous gradio_client sessions on loopback, 10 questions each,
through the stateful `/chat` endpoint of one app process (`bench/load.py`, which the benchmark
runs with 200). No errors; every answer is exactly what the same conversation gets alone."""

from __future__ import annotations

import pytest
from scripts import load_script

pytestmark = pytest.mark.slow

CLIENTS = 50
TURNS = 10


def test_50_sessions_at_once_each_get_their_own_conversation(assistant, index_dir: str) -> None:  # type: ignore[no-untyped-def]
    load = load_script("bench/load.py")
    scripts = [load.script(n, TURNS) for n in range(CLIENTS)]
    expected = {tuple(s): load.alone(assistant, s) for s in scripts}
    with load.server(index_dir) as (_, url):
        seen = load.run(url, scripts, deadline=600)
    assert not seen.errors, seen.errors[:5]
    assert len(seen.results) == CLIENTS and len(seen.latencies) == CLIENTS * TURNS
    assert seen.leaks(scripts, expected) == []
    follow_ups = sum(1 for got in seen.results.values() for g in got if g["resolved_question"])
    assert follow_ups >= CLIENTS * 3  # the conversations really were resolved against their own turns
    print(f"\nconcurrency: {CLIENTS} sessions x {TURNS} questions in {seen.wall:.1f} s; latency p50 "
          f"{seen.percentile(0.5):.0f} ms, p95 {seen.percentile(0.95):.0f} ms")
