"""The `stagecode` command line, including the public `ask --batch --json` contract."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], index_dir: str, stdin: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"STAGECODE_INDEX_DIR": index_dir} | (env or {})
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def cli_index(assistant, index_dir: str) -> str:
    return index_dir  # the session fixture has built the index already


def test_batch_json_schema_is_stable_and_in_input_order(cli_index: str, tmp_path: Path) -> None:
    lines = [
        {"id": "a", "question": "Do I get my travel costs reimbursed?", "role": "student", "conversation": "c1"},
        {"id": 2, "question": "Mag de hogeschool ons kosten rekenen voor de stagebegeleiding?", "role": "company"},
        {"id": "b", "question": "and for dual students?", "conversation": "c1"},
        {"id": "c", "question": "What is the capital of France?"},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    proc = run(["ask", "--batch", str(path), "--json"], cli_index)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", 2, "b", "c"]
    for o in out:
        assert list(o) == ["id", "language", "answer", "abstained", "citations"]
        assert o["language"] in ("nl", "en") and isinstance(o["answer"], str) and isinstance(o["abstained"], bool)
        for c in o["citations"]:
            assert list(c) == ["id", "label", "text", "text_en"]
    assert out[0]["citations"][0]["id"] == "3B.vd.4" and out[0]["language"] == "en"
    assert out[1]["language"] == "nl" and out[1]["citations"][0]["id"] == "3B.2"
    # the follow-up shares the conversation of line "a"
    assert any(c["id"] in ("3A.duaal", "3B.duaal.1") for c in out[2]["citations"])
    assert out[3]["abstained"] is True and out[3]["citations"] == []


def test_batch_reports_a_bad_line_and_goes_on(cli_index: str, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "question": "Wie betaalt mijn VOG?"}\n{not json\n'
                    '{"id": 3, "question": ""}\n{"id": 4, "question": "hi", "role": "ceo"}\n'
                    '{"id": 5, "question": "Wie betaalt mijn VOG?"}\n', encoding="utf-8")
    proc = run(["ask", "--batch", str(path), "--json"], cli_index)
    assert proc.returncode == 1
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o.get("id") for o in out] == [1, None, 3, 4, 5]
    assert "error" in out[1] and "error" in out[2] and "role" in out[3]["error"]
    assert out[4]["citations"][0]["id"] == "3B.vd.4"
    assert "line 2" in proc.stderr and "line 3" in proc.stderr


def test_roles_and_languages_in_any_case_and_a_line_without_an_id(cli_index: str, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"question": "Wie betaalt mijn VOG?", "role": "Student "}\nnot json\n', encoding="utf-8")
    proc = run(["ask", "--batch", str(path), "--json", "--lang", "EN"], cli_index)
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1 and list(out[0])[0] == "id" and out[0]["id"] is None  # "id" as in every line
    assert out[0]["language"] == "en" and out[0]["citations"][0]["id"] == "3B.vd.4"
    # the position a JSON error gives is within the line; the file's line is on stderr
    assert out[1] == {"id": None, "error": "not valid JSON (Expecting value at character 1 of the line)"}
    assert "line 2" in proc.stderr
    single = run(["ask", "Wie betaalt mijn VOG?", "--role", "Company", "--json"], cli_index)
    assert single.returncode == 0 and json.loads(single.stdout)["citations"][0]["id"] == "3B.vd.4"


def test_a_question_beside_a_batch_is_refused_not_ignored(cli_index: str, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "question": "Wie betaalt mijn VOG?"}\n', encoding="utf-8")
    proc = run(["ask", "Wie betaalt mijn VOG?", "--batch", str(path), "--json"], cli_index)
    assert proc.returncode == 2 and "not both" in proc.stderr and not proc.stdout


def test_single_question_and_bad_input_exit_codes(cli_index: str) -> None:
    ok = run(["ask", "Krijg ik een onkostenvergoeding?", "--json"], cli_index)
    assert ok.returncode == 0 and json.loads(ok.stdout)["citations"][0]["id"] == "3B.vd.4"
    for args in (["ask", "   "], ["ask", "x" * 2001], ["ask", "hoi", "--role", "ceo"]):
        proc = run(args, cli_index)
        assert proc.returncode == 2 and proc.stderr.startswith("error:") and "Traceback" not in proc.stderr


def test_corpus_list_and_show(tmp_path: Path) -> None:
    listing = run(["corpus", "list"], str(tmp_path))
    assert listing.returncode == 0
    assert len(listing.stdout.splitlines()) == 62 and listing.stdout.startswith("pre.doel")
    shown = json.loads(run(["corpus", "show", "3B.vd.4", "--json"], str(tmp_path)).stdout)
    assert shown["track"] == "vd" and "VOG" in shown["text"] and "certificate" in shown["text_en"]
    missing = run(["corpus", "show", "9.9"], str(tmp_path))
    assert missing.returncode == 2 and "no provision" in missing.stderr
    assert run(["corpus", "check"], str(tmp_path)).returncode == 0


@pytest.mark.parametrize(("folder", "counted", "line", "message"), [
    ("safety", " safety-route questions",
     '{"q": "racist jokes at work", "lang": "en", "role": "student", "kind": "answer", "ids": ["4.aanv.4"]}',
     "p99.jsonl line 1"),
    ("turns", " chat turns",
     '{"q": "and for dual?", "lang": "en", "role": "student", "kind": "answer", "ids": ["3B.1"]}',
     "message before it"),
])
def test_corpus_check_reads_the_safety_route_and_chat_turns_passes(tmp_path: Path, folder: str, counted: str,
                                                                   line: str, message: str) -> None:
    """`corpus check` counts the safety-route questions and the chat turns, and names a line that
    lacks its safety label or the message before it."""
    ok = run(["corpus", "check"], str(tmp_path / "index"))
    assert ok.returncode == 0 and counted in ok.stdout
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus, ignore=shutil.ignore_patterns("questions-next"))
    (corpus / "questions" / folder / "p99.jsonl").write_text(line + "\n", encoding="utf-8")
    bad = run(["corpus", "check"], str(tmp_path / "index"), env={"STAGECODE_CORPUS_DIR": str(corpus)})
    assert bad.returncode == 2 and "p99.jsonl line 1" in bad.stderr and message in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_broken_source_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "code.pdf"
    bad.write_text("not a pdf at all")
    proc = run(["corpus", "list", "--source", str(bad)], str(tmp_path))
    assert proc.returncode == 2 and str(bad) in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [
    ["corpus", "list", "--source", "README.md"],  # not the code: no numbered sections
    ["corpus", "show", "no.such.id"],
    ["corpus", "list", "--source", "/nonexistent/code.pdf"],
    ["ask", "   "],
    ["ask", "x" * 2001],
    ["ask", "Do I get paid?", "--role", "teacher"],
    ["ask", "--batch", "/nonexistent/in.jsonl"],
    ["ask", "Do I get paid?", "--embeddings", "no-such-model"],
    ["index", "--embeddings", "no-such-model"],
    ["serve", "--llm", "nonsense:"],
    ["serve", "--port", "99999"],
    ["train", "--embeddings", "no-such-model"],
    ["eval", "--quick", "--embeddings", "no-such-model"],
    ["eval", "--dev", "--llm", "ollama:any"],
    ["eval", "--pass", "/nonexistent/p99.jsonl"],
    ["eval", "--pass", "README.md"],
    ["eval", "--pass", "corpus/questions-next/p35_implicit.jsonl", "--dev"],
])
def test_every_command_on_bad_input_prints_one_error_line(cli_index: str, args: list[str]) -> None:
    proc = run(args, cli_index)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr


def test_eval_pass_prints_each_files_figures_and_marks_a_trained_pass(cli_index: str, tmp_path: Path) -> None:
    bank = [json.loads(x) for x in (ROOT / "corpus" / "questions" / "p4_fragments.jsonl").read_text(
        encoding="utf-8").splitlines() if x.strip()]
    picked = [q for q in bank if q["kind"] == "answer"][:3] + [q for q in bank if q["kind"] == "unrelated"][:2]
    mine = tmp_path / "p99_mine.jsonl"
    mine.write_text("\n".join(json.dumps(q) for q in picked), encoding="utf-8")
    proc = run(["eval", "--pass", str(mine)], cli_index)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out, = proc.stdout.splitlines()
    assert out.startswith("p99_mine: answered lines 3: ") and "unrelated lines 2: refused " in out
    assert "not out of pass" not in out
    proc = run(["eval", "--pass", "corpus/questions/p4_fragments.jsonl"], cli_index)
    assert proc.returncode == 0 and proc.stdout.startswith("p4_fragments (trained on: not out of pass): ")


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_a_bad_setting_is_one_error_line(cli_index: str) -> None:
    line = _one_error_line(run(["ask", "Do I get paid?"], cli_index, env={"STAGECODE_CONCURRENCY": "lots"}))
    assert "STAGECODE_CONCURRENCY" in line


def test_a_cut_source_or_a_missing_curated_layer_is_refused(cli_index: str, tmp_path: Path) -> None:
    full = (ROOT / "corpus" / "stagecode-hbo-2025.txt").read_text(encoding="utf-8")
    cut = tmp_path / "cut"
    cut.mkdir()
    (cut / "stagecode-hbo-2025.txt").write_text(full[:5000], encoding="utf-8")
    (cut / "curated.yaml").write_text((ROOT / "corpus" / "curated.yaml").read_text(encoding="utf-8"),
                                      encoding="utf-8")
    line = _one_error_line(run(["ask", "Do I get paid?"], str(tmp_path / "i1"), env={"STAGECODE_CORPUS_DIR": str(cut)}))
    assert "the curated layer has 62" in line and "whole code" in line
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "stagecode-hbo-2025.txt").write_text(full, encoding="utf-8")
    env = {"STAGECODE_CORPUS_DIR": str(bare)}
    assert "no curated layer" in _one_error_line(run(["ask", "Do I get paid?"], str(tmp_path / "i2"), env=env))
    assert "no curated layer" in _one_error_line(run(["corpus", "stamp"], str(tmp_path / "i2"), env=env))


@pytest.mark.slow
def test_serve_on_a_busy_port_is_one_error_line(cli_index: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        line = _one_error_line(run(["serve", "--port", str(s.getsockname()[1])], cli_index))
    assert "cannot serve on 127.0.0.1" in line and "--port" in line and "GRADIO_SERVER_PORT" not in line


def test_a_closed_pipe_and_an_ascii_terminal_are_no_traceback(cli_index: str) -> None:
    proc = subprocess.run(f"{sys.executable} -m assistant.cli corpus list | head -1", shell=True, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("pre.doel") and "Traceback" not in proc.stderr, proc.stderr
    ascii_env = {"PYTHONIOENCODING": "ascii"}
    asked = run(["ask", "Krijg ik mijn reiskosten vergoed?"], cli_index, env=ascii_env)  # quotes “…”
    assert asked.returncode == 0 and "Traceback" not in asked.stderr and "?" in asked.stdout


@pytest.mark.parametrize("damage", ["syntax", "truncated", "binary"])
@pytest.mark.parametrize("name", ["curated.yaml", "silent_topics.yaml", "voices.yaml"])
@pytest.mark.slow
def test_a_damaged_data_file_is_one_error_line_naming_it(cli_index: str, tmp_path: Path, name: str,
                                                         damage: str) -> None:
    data = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", data, ignore=shutil.ignore_patterns("questions"))
    (data / "questions").symlink_to(ROOT / "corpus" / "questions")
    original = (data / name).read_bytes()
    (data / name).write_bytes({"syntax": b"a: [unclosed\n  b: {\n", "truncated": original[: len(original) // 3],
                               "binary": bytes(range(256)) * 4}[damage])
    proc = run(["ask", "Do I get paid?"], str(tmp_path / "index"), env={"STAGECODE_CORPUS_DIR": str(data)})
    line = _one_error_line(proc)
    assert name in line or (name == "curated.yaml" and "curated" in line), line
