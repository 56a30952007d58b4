"""Benchmark: prints a Markdown table of speed and memory, with the machine it ran on.

    .venv/bin/python bench/bench.py [--cold 3] [--build 2] [--embeddings SPEC]

Every figure is measured in a fresh child process of its own (`bench.py --child TASK`), so
imports, model loading and memory are those of a real run:

- index build: `build()` into an empty directory, the model already loaded;
- cold start: from starting Python to the first answer printed (index already built);
- warm latency: every question of eval/questions.jsonl through `Assistant.ask` (follow-ups in
  their conversations), three rounds after a warm-up; p50/p95;
- the floor: `embeddings.embed_query` alone on each question, timed right before its answer so
  both see the same load — no answer can be faster;
- peak RSS: the child's maximum resident set (`resource.getrusage`, read by the child at its
  end), for the CLI workload (load + every eval question) and for the app (Gradio, one /ask);
- the textbook baseline: 1,000/200-character chunks (RecursiveCharacterTextSplitter), one
  temporary Chroma collection, dense only, top 4 — build, latency and hit@3 in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "questions.jsonl"
ENV = {"ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
       "HF_HUB_DISABLE_TELEMETRY": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
TARGETS = {"cold_s": 5.0, "build_s": 10.0, "p95_ms": 100.0, "rss_mb": 600.0, "floor_ratio": 1.5}
FIRST_QUESTION = "Do I get my travel costs reimbursed?"


# -- helpers -------------------------------------------------------------------------------------


def questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def percentile(values: list[float], q: float) -> float:
    """The q-quantile by the nearest-rank method (q=0.5 gives the median)."""
    if q == 0.5:
        return statistics.median(values)
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(q * len(ordered))) - 1))]


def answerable_hit3(qs: list[dict], cited: list[list[str]]) -> float:
    pairs = [(q, c) for q, c in zip(qs, cited, strict=True) if q["expect"] != "abstain" and q["gold"]]
    return sum(any(g in c[:3] for g in q["gold"]) for q, c in pairs) / len(pairs)


def run_child(task: str, *args: str, timeout: float = 900) -> tuple[dict, float, float]:
    """Run `bench.py --child TASK ARGS` fresh; return (its JSON, wall seconds, peak RSS in MB)."""
    env = {k: v for k, v in os.environ.items() if k != "STAGECODE_LLM"} | ENV | {"PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", task, *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"child {task} failed ({proc.returncode}):\n{err[-3000:]}")
    data = json.loads(out.strip().splitlines()[-1])
    return data, wall, float(data.get("rss_mb", 0.0))


def _rss_mb() -> float:
    """This process's peak resident set so far (Linux reports ru_maxrss in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kib = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        ram = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    load = " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "ram": ram, "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()}", "load": load}


# -- children --------------------------------------------------------------------------------------


def _settings(index_dir: str, spec: str):  # type: ignore[no-untyped-def]
    """The environment's settings with this run's index folder and embedding model."""
    from assistant.settings import Settings

    return Settings.from_env(index_dir=index_dir, embeddings=spec)


def child_build(index_dir: str, spec: str) -> dict:
    """Build the index into an empty directory; the model is loaded first and timed apart."""
    from assistant.build import build
    from assistant.corpus.corpus import load_corpus
    from assistant.search.embeddings import load_embeddings

    settings = _settings(index_dir, spec)
    corpus = load_corpus(settings.corpus_files)
    t0 = time.perf_counter()
    emb = load_embeddings(spec)
    emb.embed_query("warm up")  # the model loads lazily
    t1 = time.perf_counter()
    a = build(settings, corpus=corpus, embeddings=emb, llm=False)
    t2 = time.perf_counter()
    return {"model_s": t1 - t0, "build_s": t2 - t1, "entries": a.retriever.index.manifest.get("entries"),
            "rss_mb": _rss_mb()}


def child_cold(index_dir: str, spec: str, started: str) -> dict:
    """Import, load and answer one question; `started` is when the parent spawned this process."""
    t_main = time.time()
    from assistant.build import build

    t_import = time.time()
    a = build(_settings(index_dir, spec), llm=False)
    t_load = time.time()
    answer = a.ask(FIRST_QUESTION)
    print(answer.answer[:60], file=sys.stderr)
    t_answer = time.time()
    t0 = float(started)
    return {"python_s": t_main - t0, "import_s": t_import - t_main, "load_s": t_load - t_import,
            "first_answer_s": t_answer - t_load, "total_s": t_answer - t0,
            "cited": [c.id for c in answer.citations], "rss_mb": _rss_mb()}


def child_warm(index_dir: str, spec: str, rounds: int = 3) -> dict:
    """Every eval question, timed, `rounds` times; the bare query embedding of each question
    (the floor) is timed right before its answer, so both see the same machine load."""
    from assistant.answering.conversation import Conversation
    from assistant.build import build

    a = build(_settings(index_dir, spec), llm=False)
    emb = a.retriever.embeddings
    qs = questions()
    for q in qs[:10]:  # warm-up: model, caches, allocator
        a.ask(q["question"], q["role"], None, Conversation())
        emb.embed_query(q["question"])
    latencies, floor, cited = [], [], []
    for round_ in range(rounds):
        chats: dict[str, Conversation] = {}
        for q in qs:
            conv = chats.setdefault(q["conversation"], Conversation()) if q.get("conversation") else Conversation()
            t0 = time.perf_counter()
            emb.embed_query(q["question"])
            t1 = time.perf_counter()
            answer = a.ask(q["question"], q["role"], None, conv)
            t2 = time.perf_counter()
            floor.append((t1 - t0) * 1000)
            latencies.append((t2 - t1) * 1000)
            if round_ == 0:
                cited.append([c.id for c in answer.citations])
    return {"p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
            "floor_p50_ms": percentile(floor, 0.5), "floor_p95_ms": percentile(floor, 0.95),
            "hit3": answerable_hit3(qs, cited), "n": len(qs), "rounds": rounds, "rss_mb": _rss_mb()}


def child_baseline(spec: str) -> dict:
    """The textbook recipe: 1,000/200-character chunks, a temporary Chroma collection, top 4."""
    from assistant.corpus.corpus import load_corpus
    from assistant.evaluation.baseline import TextbookBaseline
    from assistant.search.embeddings import load_embeddings

    corpus = load_corpus()
    emb = load_embeddings(spec)
    emb.embed_query("warm up")
    t0 = time.perf_counter()
    base = TextbookBaseline(corpus, emb)
    build = time.perf_counter() - t0
    try:
        qs = questions()
        for q in qs[:10]:
            base.search(q["question"])
        latencies, cited = [], []
        for q in qs:
            t0 = time.perf_counter()
            cited.append(base.search(q["question"])[0])
            latencies.append((time.perf_counter() - t0) * 1000)
        return {"chunks": len(base.chunks), "build_s": build, "p50_ms": percentile(latencies, 0.5),
                "p95_ms": percentile(latencies, 0.95), "hit3": answerable_hit3(qs, cited), "rss_mb": _rss_mb()}
    finally:
        base.close()


def child_app(index_dir: str, spec: str) -> dict:
    """The app: load, start Gradio on loopback, answer one /ask call over HTTP."""
    import socket

    import httpx

    from assistant.build import build
    from assistant.ui.app import build_app, launch_app

    t0 = time.perf_counter()
    demo = build_app(build(_settings(index_dir, spec), llm=False))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launch_app(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    base = f"http://127.0.0.1:{port}/gradio_api/call/ask"
    try:
        with httpx.Client(timeout=120) as h:
            eid = h.post(base, json={"data": [FIRST_QUESTION, "student", "auto"]}).json()["event_id"]
            body = h.get(f"{base}/{eid}").text
        up = time.perf_counter() - t0
    finally:
        demo.close()
    return {"start_to_answer_s": up, "ok": "3B.vd.4" in body, "rss_mb": _rss_mb()}


CHILDREN = {"build": child_build, "cold": child_cold, "warm": child_warm, "baseline": child_baseline,
            "app": child_app}


# -- the table ---------------------------------------------------------------------------------------


def mark(ok: bool) -> str:
    return "✅" if ok else "❌ missed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cold", type=int, default=3, help="cold starts to take the median of")
    parser.add_argument("--build", type=int, default=2, help="index builds to take the median of")
    parser.add_argument("--embeddings", default=os.environ.get("STAGECODE_EMBEDDINGS") or "use-multilingual")
    args, rest = parser.parse_known_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](*rest)))
        return 0

    spec = args.embeddings
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, Python {info['python']}, "
          f"{info['os']}; load average at start {info['load']}", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="stagecode-bench-"))
    try:
        builds = []
        for i in range(max(1, args.build)):
            print(f"index build {i + 1}/{args.build}…", file=sys.stderr)
            builds.append(run_child("build", str(work / f"index{i}"), spec)[0])
        index_dir = str(work / "index0")
        colds = []
        for i in range(max(1, args.cold)):
            print(f"cold start {i + 1}/{args.cold}…", file=sys.stderr)
            colds.append(run_child("cold", index_dir, spec, repr(time.time()))[0])
        print("warm latency over the eval questions…", file=sys.stderr)
        warm = run_child("warm", index_dir, spec)[0]
        print("textbook baseline…", file=sys.stderr)
        base = run_child("baseline", spec)[0]
        print("app…", file=sys.stderr)
        app = run_child("app", index_dir, spec)[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    build_s = statistics.median(b["build_s"] for b in builds)
    cold = sorted(colds, key=lambda c: c["total_s"])[len(colds) // 2]
    ratio = warm["p50_ms"] / warm["floor_p50_ms"]
    rss = max(c["rss_mb"] for c in colds + [warm])
    rows = [
        ("cold start to first answer (import + load + answer; median of "
         f"{len(colds)})", f"{cold['total_s']:.2f} s (Python {cold['python_s']:.2f} + import "
         f"{cold['import_s']:.2f} + load {cold['load_s']:.2f} + first answer {cold['first_answer_s']:.2f})",
         f"< {TARGETS['cold_s']:.0f} s", mark(cold["total_s"] < TARGETS["cold_s"])),
        (f"index build ({builds[0]['entries']} entries, model loaded; median of {len(builds)})",
         f"{build_s:.2f} s (+ model load {statistics.median(b['model_s'] for b in builds):.2f} s)",
         f"< {TARGETS['build_s']:.0f} s", mark(build_s < TARGETS["build_s"])),
        (f"warm answer latency p50 / p95 ({warm['n']} eval questions × {warm['rounds']})",
         f"{warm['p50_ms']:.1f} / {warm['p95_ms']:.1f} ms", f"p95 < {TARGETS['p95_ms']:.0f} ms",
         mark(warm["p95_ms"] < TARGETS["p95_ms"])),
        ("floor: bare query embedding p50 / p95", f"{warm['floor_p50_ms']:.1f} / {warm['floor_p95_ms']:.1f} ms",
         "", ""),
        ("warm p50 ÷ floor p50", f"{ratio:.2f}×", f"≤ {TARGETS['floor_ratio']}×",
         mark(ratio <= TARGETS["floor_ratio"])),
        ("peak RSS, CLI (load + every eval question)", f"{rss:.0f} MB", f"< {TARGETS['rss_mb']:.0f} MB",
         mark(rss < TARGETS["rss_mb"])),
        ("peak RSS, app (Gradio, start + one /ask)", f"{app['rss_mb']:.0f} MB",
         f"< {TARGETS['rss_mb']:.0f} MB", mark(app["rss_mb"] < TARGETS["rss_mb"])),
        ("app: load + Gradio import + launch + first /ask answer", f"{app['start_to_answer_s']:.2f} s",
         "", ""),
        ("hit@3, answerable eval questions", f"{warm['hit3']:.3f}", "", ""),
        (f"baseline: build ({base['chunks']} chunks of 1,000/200 characters)", f"{base['build_s']:.2f} s", "", ""),
        ("baseline: latency p50 / p95 (dense only, top 4)", f"{base['p50_ms']:.1f} / {base['p95_ms']:.1f} ms",
         "", ""),
        ("baseline: hit@3, answerable eval questions", f"{base['hit3']:.3f}", "", ""),
        ("baseline: peak RSS", f"{base['rss_mb']:.0f} MB", "", ""),
    ]
    print(f"\nModel `{spec}`. Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, "
          f"Python {info['python']}, {info['os']}; load average at start {info['load']}.\n")
    print("| measure | result | target | |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if not app["ok"]:
        print("\nwarning: the app's /ask answer did not cite 3B.vd.4", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
