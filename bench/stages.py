"""Where a warm answer's time goes: the median time per stage of `Assistant.ask`, per question.

    PYTHONPATH=. .venv/bin/python bench/stages.py [--rounds 3] [--bank 600]

Each stage is a function wrapped in a `perf_counter` timer (about 0.2 µs a call, far less than
cProfile's per-call cost); a stage's time per question is the sum of its calls, and the table
gives the median over questions (so the stages need not add up). Questions: those of
`eval/questions.jsonl` (follow-ups in their conversations, as `bench.py` asks them) and
`--bank` single-turn bank questions. The floor (`embed_query` alone, right before each answer)
is timed as `bench.py` times it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class Stages:
    """Per-question sums of the wrapped stages' times, in ms."""

    def __init__(self) -> None:
        self.now: dict[str, float] = defaultdict(float)
        self.per_question: list[dict[str, float]] = []

    def wrap(self, owner: Any, name: str, label: str | None = None) -> None:
        """Replace `owner.name` by a timed call of it (a module function, method or instance
        attribute); a name the code does not have (any more) is left out."""
        inner: Callable[..., Any] | None = getattr(owner, name, None)
        if inner is None:
            return
        now, key = self.now, label or name

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                now[key] += (time.perf_counter() - t0) * 1000

        setattr(owner, name, timed)

    def close_question(self) -> None:
        self.per_question.append(dict(self.now))
        self.now.clear()

    def table(self) -> list[tuple[str, float, float]]:
        """(stage, median ms per question, mean ms per question), slowest first."""
        keys = {k for q in self.per_question for k in q}
        n = len(self.per_question)
        rows = [(k, statistics.median(q.get(k, 0.0) for q in self.per_question),
                 sum(q.get(k, 0.0) for q in self.per_question) / n) for k in keys]
        return sorted(rows, key=lambda r: -r[1])


def instrument(a: Any, st: Stages) -> None:
    """Wrap the stages of `Assistant.ask` and `Retriever.examine` of this assistant."""
    import assistant.assistant as am
    import assistant.learn.signals as sg
    import assistant.search.retrieve as rt

    r, m = a.retriever, a.retriever.model
    for name in ("validate", "detect", "compose", "decide", "resolve"):
        st.wrap(am, name, f"ask.{name}")
    for name in ("named", "_read"):
        st.wrap(a, name, f"ask.{name}")
    st.wrap(r, "examine", "examine (all)")
    st.wrap(r, "follows", "follows")
    st.wrap(r.embeddings, "embed_query", "examine.embed_query")
    for name in ("analyze", "question_signals", "rank_features", "decide_input", "safety_input", "reading_part",
                 "list_input", "words"):
        st.wrap(rt, name, f"examine.{name}")
    st.wrap(r, "lexical_scores", "examine.bm25")
    for part in ("cls", "ranker", "decide", "topic"):
        st.wrap(getattr(m, part), "proba", f"model.{part}.proba")
    for name in ("decision", "safety_score", "party_of", "phase_of", "topic_proba"):
        st.wrap(m, name, f"model.{name}")
    for words in ("safety_words", "topic_words"):
        if getattr(m, words, None) is not None:
            st.wrap(getattr(m, words), "proba", f"model.{words}.proba")
    bank, entries = r._bank, r._entries
    for name in ("similarities", "best_per_provision", "best_per_kind"):
        st.wrap(bank, name, f"signals.bank.{name}")
    st.wrap(entries, "per_provision", "signals.entries.per_provision")
    st.wrap(sg, "decide_meta", "signals.decide_meta")


def run(rounds: int, n_bank: int) -> None:
    from assistant.answering.conversation import Conversation
    from assistant.build import build

    a = build(llm=False)
    emb = a.retriever.embeddings
    evals = [json.loads(x) for x in (ROOT / "eval" / "questions.jsonl").read_text().splitlines() if x.strip()]
    bank = []
    for f in sorted((ROOT / "corpus" / "questions").glob("*.jsonl")):
        bank += [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]
    bank = bank[:: max(1, len(bank) // n_bank)][:n_bank] if n_bank else []
    for q in evals[:10]:
        a.ask(q["question"], q["role"], None, Conversation(), llm=False)
    st = Stages()
    instrument(a, st)
    floor, total = [], []
    for _ in range(rounds):
        chats: dict[str, Conversation] = {}
        items = [(q["question"], q["role"], q.get("conversation")) for q in evals]
        items += [(q["q"], q.get("role") or "student", None) for q in bank]
        for text, role, chat in items:
            conv = chats.setdefault(chat, Conversation()) if chat else Conversation()
            t0 = time.perf_counter()
            emb.embed_query(text)
            t1 = time.perf_counter()
            st.now.clear()
            a.ask(text, role, None, conv, llm=False)
            t2 = time.perf_counter()
            st.close_question()
            floor.append((t1 - t0) * 1000)
            total.append((t2 - t1) * 1000)
    f50, t50 = statistics.median(floor), statistics.median(total)
    print(f"{len(total)} answers: ask p50 {t50:.3f} ms, floor p50 {f50:.3f} ms, ratio {t50 / f50:.3f}, "
          f"median of (ask - its own embeddings) "
          f"{statistics.median(t - q.get('examine.embed_query', 0.0) for t, q in zip(total, st.per_question, strict=True)):.3f} ms")
    print(f"{'stage':<36} {'median ms':>10} {'mean ms':>10}")
    for name, med, mean in st.table():
        print(f"{name:<36} {med:>10.3f} {mean:>10.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bank", type=int, default=600, help="single-turn bank questions besides the eval ones")
    args = parser.parse_args()
    run(args.rounds, args.bank)


if __name__ == "__main__":
    main()
