"""`stagecode eval --dev`: the figures and misses of the split we tune on, without asking a
held-out question or writing the report."""

from __future__ import annotations

import pytest

from assistant.evaluation import runner
from assistant.settings import Settings


def test_eval_dev_asks_only_dev_questions_and_writes_nothing(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    asked: list[dict] = []

    def fake_run(assistant: object, questions: list[dict], source_text: str) -> list[runner.Result]:
        asked.extend(questions)
        # the first question cites nothing and is answered: a miss; the others cite their gold
        return [runner.Result(q, [] if i == 0 else list(q["gold"][:1]), q["expect"] == "abstain" and i > 0,
                              q["language"], "", 0.001) for i, q in enumerate(questions)]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the dev run must not evaluate every split or write the report")

    monkeypatch.setattr(runner, "run_questions", fake_run)
    monkeypatch.setattr(runner, "build", lambda *a, **k: object())
    monkeypatch.setattr(runner, "evaluate", refuse)
    monkeypatch.setattr(runner, "write_report", refuse)

    assert runner.main(Settings.from_env({}), dev=True) == 0
    every = runner.load_questions()
    assert asked == [q for q in every if q["split"] == "dev"]
    assert len(asked) < len(every)  # the held-out splits exist and were left alone
    out = capsys.readouterr().out
    assert f"| dev | {len(asked)} |" in out
    assert "1 misses" in out and asked[0]["id"] in out and asked[0]["question"] in out
