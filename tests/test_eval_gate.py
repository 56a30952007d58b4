"""CI gate: the evaluation suite must not fall below figures it has reached.

The thresholds are the measured figures of eval/report.md rounded down. Two were lowered when
the learned ranking and decision replaced the hand-set fusion and the 1,551 silent-topic
triggers: abstention accuracy and false abstention on the old dev and held-out splits (0.92 /
0.05 and 0.94 / 0.05 before), a regression the README and the report state, in exchange for the
real-phrased split (abstention 0.841 -> 0.929, false abstention 0.159 -> 0.028). Every other
gate was raised, and those two have since been raised again as the bank grew (dev 0.94 / 0.03,
held-out 0.91 / 0.02). A regression must be fixed, not hidden by another lowering.
"""

from __future__ import annotations

import pytest

#: these tests ask every held-out question: `-m "not heldout"` leaves them out when a model variant
#: is compared on dev only
pytestmark = pytest.mark.heldout

GATES = {
    "dev": {"hit@1": 0.83, "hit@3": 0.96, "abstention_accuracy": 0.94, "false_abstention_max": 0.03,
            "verbatim": 1.0, "language_match": 0.98},
    "heldout": {"hit@1": 0.89, "hit@3": 0.92, "abstention_accuracy": 0.91, "false_abstention_max": 0.02,
                "verbatim": 1.0, "language_match": 0.98},
    "real": {"hit@1": 0.84, "hit@3": 0.97, "abstention_accuracy": 0.94, "false_abstention_max": 0.02,
             "verbatim": 1.0, "language_match": 0.98},
}
#: discrimination and harassment situations of the real split whose answer cites the reporting point
SAFETY_MELDPUNT_MIN = 32


@pytest.fixture(scope="module")
def runner():  # type: ignore[no-untyped-def]
    from assistant.evaluation import runner

    return runner


@pytest.fixture(scope="module")
def results(assistant, runner):  # type: ignore[no-untyped-def]
    from assistant.corpus.parse import body_text
    from assistant.corpus.source import read_source

    source = body_text(read_source(assistant.corpus.files.source))
    return runner.run_questions(assistant, runner.load_questions(), source)


@pytest.mark.parametrize("split", ["dev", "heldout", "real"])
def test_eval_meets_its_gates(runner, results, split: str) -> None:
    m = runner.breakdown(results)["split"][split]
    g = GATES[split]
    assert m["verbatim"] >= g["verbatim"]
    assert m["language_match"] >= g["language_match"]
    assert m["hit@1"] >= g["hit@1"], m
    assert m["hit@3"] >= g["hit@3"], m
    assert m["abstention_accuracy"] >= g["abstention_accuracy"], m
    assert m["false_abstention"] <= g["false_abstention_max"], m


def test_discrimination_situations_cite_the_reporting_point(runner, results) -> None:
    real = runner.real_figures(results)
    assert real["n_safety"] >= 20
    assert real["safety_meldpunt"] >= SAFETY_MELDPUNT_MIN, real["safety_meldpunt"]
