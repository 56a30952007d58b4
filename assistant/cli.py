"""The `stagecode` command line: a thin shell over `Assistant` and the corpus."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import TextIO

from assistant.domain import ROLES, as_choice
from assistant.settings import Settings


def _print_json(obj: object, out: TextIO | None = None) -> None:
    # sys.stdout is looked up at call time so a redirected stdout (capsys, an embedding program) is used
    (out or sys.stdout).write(json.dumps(obj, ensure_ascii=False) + "\n")


def _provision_json(corpus, pid: str) -> dict:  # type: ignore[no-untyped-def]
    p = corpus.by_id[pid]
    c = corpus.curation.get(pid)
    return {
        "id": p.id, "kind": p.kind, "path": list(p.path), "label_nl": corpus.label(pid, "nl"),
        "label_en": corpus.label(pid, "en"), "text": p.text, "text_en": c.en if c else "",
        "summary_nl": c.summary_nl if c else "", "summary_en": c.summary_en if c else "",
        "audiences": list(c.audiences) if c else [], "track": p.track,
        "phase": c.phase if c else "", "parent": p.parent, "children": list(p.children),
        "footnotes": list(p.footnotes), "footnote_of": p.footnote_of,
    }


def cmd_corpus(args: argparse.Namespace) -> int:
    from assistant.corpus.corpus import load_corpus

    corpus = load_corpus(_settings(args).corpus_files, source=args.source)
    if args.action == "list":
        for p in corpus.provisions:
            if args.json:
                _print_json(_provision_json(corpus, p.id))
            else:
                print(f"{p.id:<20} {corpus.label(p.id, args.lang)}")
        return 0
    if args.action == "stamp":
        from assistant.corpus.corpus import stamp_curated

        left = stamp_curated(corpus)
        for pid in left:
            print(f"{pid}: nl copy differs from the parsed text; review the entry, update it, stamp again", file=sys.stderr)
        print(f"stamped {len(corpus.provisions) - len(left)} entries")
        return 1 if left else 0
    if args.action == "check":
        from assistant.answering.abstain import injection_misfires
        from assistant.learn.bank import load_passes

        ps = load_passes(corpus.files.bank, set(corpus.by_id))
        problems = corpus.problems() + injection_misfires([(q.text, q.answered) for q in ps.bank + ps.short + ps.lists])
        for line in problems:
            print(line, file=sys.stderr)
        print(f"{len(corpus.provisions)} provisions, {len(ps.bank)} bank questions, "
              f"{len(ps.route)} safety-route questions, {len(ps.turns)} chat turns, {len(ps.short)} short messages, "
              f"{len(ps.lists)} party-only list questions, {len(ps.parts)} open-part questions, "
              f"{len(problems)} problems")
        return 1 if problems else 0
    if args.id not in corpus.by_id:
        print(f"error: no provision {args.id!r}; `stagecode corpus list` shows the ids", file=sys.stderr)
        return 2
    data = _provision_json(corpus, args.id)
    if args.json:
        _print_json(data)
    else:
        print(f"{data['id']} — {data['label_nl']}\n{data['label_en']}\n")
        print(data["text"])
        if data["text_en"]:
            print(f"\nEN (unofficial translation): {data['text_en']}")
        print(f"\ntrack: {data['track']}  audiences: {', '.join(data['audiences'])}  phase: {data['phase']}")
        if data["footnotes"]:
            print("footnotes: " + ", ".join(data["footnotes"]))
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    """The environment's settings with this command's flags on top."""
    return Settings.from_env(embeddings=getattr(args, "embeddings", None),
                             index_dir=getattr(args, "index_dir", None), llm=getattr(args, "llm", None))


def _assistant(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from assistant.build import build

    return build(_settings(args), progress=sys.stderr.isatty(), llm=hasattr(args, "llm"))


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.answering.conversation import Conversation
    from assistant.assistant import InputError

    if args.batch and args.question is not None:
        print("error: give a question or --batch FILE, not both", file=sys.stderr)
        return 2
    if args.batch:
        return _batch(args)
    if args.question is None:
        print("error: give a question, or --batch FILE", file=sys.stderr)
        return 2
    try:
        from assistant.assistant import validate

        validate(args.question, args.role, args.lang)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    assistant = _assistant(args)
    answer = assistant.ask(args.question, args.role, args.lang, Conversation())
    if args.json:
        _print_json(answer.to_public_json())
    else:
        print(answer.answer)
    return 0


def _valid_id(value: object) -> bool:
    """A batch line's id is echoed in the output, which must stay JSON: text or a finite number."""
    return value is None or isinstance(value, str) or (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value))


def _batch(args: argparse.Namespace) -> int:
    """JSON lines in, one JSON line out per input in input order; bad lines reported, skipped."""
    from assistant.answering.conversation import Conversation
    from assistant.assistant import InputError

    path = Path(args.batch)
    try:
        lines = sys.stdin.read().splitlines() if args.batch == "-" else path.read_text(
            encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.batch}: {exc}", file=sys.stderr)
        return 2
    if lines:  # a file saved with a UTF-8 byte-order mark
        lines[0] = lines[0].removeprefix("\ufeff")
    assistant = _assistant(args)
    chats: dict[object, Conversation] = {}
    failures = 0
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item: object = None
        try:
            try:
                item = json.loads(line)
            except RecursionError:  # deeply nested JSON
                raise InputError("the JSON is nested too deeply") from None
            except json.JSONDecodeError as exc:  # its position is within the line, not the file
                raise InputError(f"not valid JSON ({exc.msg} at character {exc.pos + 1} of the line)") from None
            if not isinstance(item, dict) or "question" not in item:
                raise InputError('each line must be a JSON object with a "question"')
            if not _valid_id(item.get("id")):
                raise InputError('"id" must be text or a finite number')
            role = as_choice(item.get("role")) or args.role
            chat_key = item.get("conversation")
            chat = chats.setdefault(json.dumps(chat_key), Conversation()) if chat_key is not None else Conversation()
            answer = assistant.ask(item["question"], role, args.lang, chat)
            _print_json({"id": item.get("id"), **answer.to_public_json()})  # "id" even when the line has none
        except (ValueError, InputError) as exc:  # json.JSONDecodeError is a ValueError
            failures += 1
            print(f"error: {args.batch} line {n}: {exc}", file=sys.stderr)
            echo = item.get("id") if isinstance(item, dict) and _valid_id(item.get("id")) else None
            _print_json({"id": echo, "error": str(exc)})
        sys.stdout.flush()
    return 1 if failures else 0


def cmd_index(args: argparse.Namespace) -> int:
    from assistant.build import build

    a = build(_settings(args), progress=args.rebuild or sys.stderr.isatty(), rebuild=args.rebuild,
              llm=False, check_store=True)
    m = a.retriever.index.manifest
    print(f"index at {a.retriever.index.path}: {m.get('entries')} entries, model {m.get('embeddings')}, corpus {m.get('corpus')}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.evaluation.runner import main as run_eval

    if args.dev and (args.llm or args.quick):
        print("error: --dev asks the dev split with the deterministic answers only; leave out --llm and --quick",
              file=sys.stderr)
        return 2
    if args.passes:
        if args.dev or args.llm or args.quick:
            print("error: --pass scores pass files with the deterministic answers only; leave out --dev, --llm "
                  "and --quick", file=sys.stderr)
            return 2
        return _score_passes(args)
    return int(run_eval(_settings(args), quick=args.quick, dev=args.dev))


def _score_passes(args: argparse.Namespace) -> int:
    from assistant.build import build
    from assistant.evaluation.passes import score_questions, trained_on
    from assistant.learn.bank import load_pass

    settings = _settings(args)
    assistant = build(settings, llm=False)
    # every file is read before the first is asked, so a bad one costs no wait
    passes = [(Path(p), load_pass(Path(p), set(assistant.corpus.by_id))) for p in args.passes]
    for path, questions in passes:
        figures = score_questions(assistant, questions, path.stem)
        print(figures.line(trained_on(path, settings.corpus_files.bank)), flush=True)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from assistant.corpus.corpus import load_corpus
    from assistant.search.embeddings import load_embeddings
    from assistant.training.store import train_and_ship

    settings = _settings(args)
    settings.report_dir.mkdir(parents=True, exist_ok=True)
    return train_and_ship(load_corpus(settings.corpus_files), load_embeddings(settings.embeddings),
                          report_path=settings.report_dir / "training.md")


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.ui.app import serve

    if not 1 <= args.port <= 65535:
        print(f"error: --port must be from 1 to 65535, not {args.port}", file=sys.stderr)
        return 2
    try:
        serve(_settings(args), host=args.host, port=args.port)
    except OSError as exc:  # the port is taken, or the host is not an address of this machine
        # Gradio's own message for a taken port names settings this command does not read
        reason = exc.strerror or "the port is in use; choose another with --port"
        print(f"error: cannot serve on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stagecode", description="Answers questions about the Stagecode hbo, citing exact provisions.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--embeddings", help="embedding model spec (default: env STAGECODE_EMBEDDINGS or use-multilingual)")
    common.add_argument("--index-dir", help="where the index lives (default: env STAGECODE_INDEX_DIR or ./index)")
    # optional generative answers; given to ask, eval and serve
    llm_help = ("language-model backend: none, ollama:<model>, openai:<model> (server at "
                "STAGECODE_LLM_BASE_URL) or llamacpp:<path.gguf> (default: env STAGECODE_LLM or none)")
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", parents=[common], help="ask a question")
    ask.add_argument("question", nargs="?")
    ask.add_argument("--role", default="student", help="student | company | staff")
    ask.add_argument("--lang", type=str.lower, choices=["nl", "en"], help="answer language (default: the question's)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("--batch", help="JSON lines file of questions ('-' for stdin)")
    ask.add_argument("--llm", help=llm_help)
    ask.set_defaults(func=cmd_ask)

    corpus = sub.add_parser("corpus", help="list, show, check provisions; stamp reviewed curated entries")
    corpus.add_argument("action", choices=["list", "show", "check", "stamp"])
    corpus.add_argument("id", nargs="?")
    corpus.add_argument("--json", action="store_true")
    corpus.add_argument("--lang", type=str.lower, choices=["nl", "en"], default="nl")
    corpus.add_argument("--source", help="a .txt, .md or .pdf of the code to parse instead")
    corpus.set_defaults(func=cmd_corpus)

    index = sub.add_parser("index", parents=[common], help="build the index (if missing or stale)")
    index.add_argument("--rebuild", action="store_true", help="rebuild even when up to date")
    index.set_defaults(func=cmd_index)

    ev = sub.add_parser("eval", parents=[common], help="run the evaluation and write eval/report.md")
    ev.add_argument("--quick", action="store_true", help="skip the baseline and model comparison")
    ev.add_argument("--dev", action="store_true",
                    help="ask only the dev split and print its figures and misses, writing nothing: "
                         "compare model variants without asking a held-out question")
    ev.add_argument("--pass", dest="passes", action="append", metavar="FILE",
                    help="score a pass of bank lines (JSON lines as in corpus/questions/) and print its "
                         "figures, writing nothing: how a style of question no model trained on is answered")
    ev.add_argument("--llm", help=llm_help + "; the report compares it with the deterministic answers")
    ev.set_defaults(func=cmd_eval)

    tr = sub.add_parser("train", parents=[common],
                        help="train the ranker and answer decision from corpus/questions/ (writes the model)")
    tr.set_defaults(func=cmd_train)

    serve = sub.add_parser("serve", parents=[common], help="start the chat app on 127.0.0.1:7860")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.add_argument("--llm", help=llm_help)
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show a character gets '?'
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    args = build_parser().parse_args(argv)
    if getattr(args, "role", None):
        args.role = as_choice(args.role)
    if getattr(args, "role", None) and args.role not in ROLES:
        print(f"error: unknown role {args.role!r}; choose one of: {', '.join(ROLES)}", file=sys.stderr)
        return 2
    if args.command == "corpus" and args.action == "show" and not args.id:
        print("error: corpus show needs an ID", file=sys.stderr)
        return 2
    from assistant.errors import StagecodeError

    try:
        return int(args.func(args))
    except StagecodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `stagecode corpus list | head -1`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
