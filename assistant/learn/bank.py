"""The question bank: questions written as people write them, each with the provisions that
answer it (or the reason the code does not), one JSON line each, one file per writing pass.

Passes are written separately (different personas and styles), so validation trains on some
passes and scores on another: a figure then says how the model does on a way of asking it has
not seen, not on near-copies of its training questions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import CorpusError

#: what a bank line says about its question; the decision model learns these classes
KINDS = ("answer", "list", "out_of_scope", "unrelated", "injection")
ANSWERED = ("answer", "list")
#: how much of the previous search text a follow-up is searched with
MAX_CONTEXT = 400


def joined(previous: str, message: str) -> str:
    """What a message read with the one before it is searched as: the start of the previous
    search text (where its subject is), then the message; bounded however long a chat grows."""
    return f"{previous[:MAX_CONTEXT]} {message}"


@dataclass(frozen=True)
class BankQuestion:
    """One question of the bank."""

    text: str
    lang: str
    role: str | None
    kind: str
    ids: tuple[str, ...]
    track: str | None
    safety: bool | None  # None: the pass did not label it
    topic: str | None
    context: str | None  # the previous question, for a follow-up
    party: str | None
    phase: str | None
    pass_: str
    #: the previous message, for a question asked after it that does not lean on it
    after: str | None = None

    @property
    def query(self) -> str:
        """What is searched: a follow-up together with the question it follows."""
        return joined(self.context, self.text) if self.context else self.text

    @property
    def answered(self) -> bool:
        return self.kind in ANSWERED


def _question(line: str, where: str, pass_: str, known: set[str] | None, safety_labels: bool,
              turns: bool = False) -> BankQuestion:
    try:
        d = json.loads(line)
        kind = d["kind"]
        ids = tuple(d.get("ids") or ())
        q = BankQuestion(
            text=str(d["q"]).strip(), lang=d["lang"], role=d.get("role"), kind=kind, ids=ids,
            track=d.get("track"), safety=d.get("safety"), topic=d.get("topic"),
            context=d.get("context") or None, party=d.get("party"), phase=d.get("phase"),
            pass_=pass_, after=d.get("after") or None,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CorpusError(f"{where}: not a bank line ({exc})") from None
    if kind not in KINDS or not q.text:
        raise CorpusError(f"{where}: kind must be one of {', '.join(KINDS)}, with a question")
    if known is not None and (bad := [i for i in ids if i not in known]):
        raise CorpusError(f"{where}: unknown provision ids {', '.join(bad)}")
    if q.answered and not ids:
        raise CorpusError(f"{where}: an answered question needs the ids that answer it")
    if safety_labels and q.safety is None:
        raise CorpusError(f"{where}: a question for the safety route needs \"safety\": true or false")
    if turns and (q.context is None) == (q.after is None):
        raise CorpusError(f"{where}: a chat turn needs the message before it, as \"context\" (it leans "
                          "on it) or as \"after\" (it does not)")
    return q


def bank_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jsonl"))


def route_folder(folder: Path) -> Path:
    """Where the passes live that train the safety route only: written around discrimination,
    most of their questions are safety cases, a share that would tilt the ranker and the
    answer decision if they joined the bank (the README has the measurements)."""
    return folder / "safety"


def turns_folder(folder: Path) -> Path:
    """Where the passes live that train the choice of reading for a chat message only: each
    line is a message with the one before it, which it leans on (`context`) or not (`after`)."""
    return folder / "turns"


def short_folder(folder: Path) -> Path:
    """Where the passes live that train the decision for short messages only (one to four
    words, typed as into a search box): a vector of one word lies where no sentence of the
    bank does, so a decision fitted on sentences reads it as noise."""
    return folder / "short"


def lists_folder(folder: Path) -> Path:
    """Where the passes live that train the choices of a list only (its party and phase, and
    whether a follow-up asks for a list or one point): mostly list questions about another
    party than the asker's, follow-ups asking for another list than the message before them
    (`context`) and follow-ups asking one point of it, shares that would tilt the ranker and the
    answer decision if they joined the bank (the README has the measurements)."""
    return folder / "lists"


def parts_folder(folder: Path) -> Path:
    """Where the passes live that train the open-part model only: questions the code answers,
    each either also asking a matter the code leaves open (`topic`) or not, a share of open
    matters that would tilt the answer decision if they joined the bank."""
    return folder / "parts"


def load_bank(folder: Path, known: set[str] | None = None, safety_labels: bool = False,
              turns: bool = False) -> list[BankQuestion]:
    """Every question of every pass file in `folder` (the pass is the file's name);
    `safety_labels`: every line must say whether it is a safety question; `turns`: every line
    must give the message before it."""
    return [q for path in bank_files(folder)
            for q in _file_questions(path, path.read_text(encoding="utf-8"), known, safety_labels, turns)]


def load_pass(path: Path, known: set[str] | None = None) -> list[BankQuestion]:
    """The questions of one pass file, wherever it lies, each with the message before it when
    the pass gives one (`context` or `after`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot be read as a pass of bank lines ({exc.__class__.__name__})") from None
    if not (out := _file_questions(path, text, known)):
        raise CorpusError(f"{path}: holds no bank lines")
    return out


def _file_questions(path: Path, text: str, known: set[str] | None, safety_labels: bool = False,
                    turns: bool = False) -> list[BankQuestion]:
    return [_question(line, f"{path.name} line {n}", path.stem, known, safety_labels, turns)
            for n, line in enumerate(text.splitlines(), 1) if line.strip()]


@dataclass(frozen=True)
class Passes:
    """The bank and the passes of each side folder, each list read with its folder's checks."""

    bank: list[BankQuestion]
    route: list[BankQuestion]
    turns: list[BankQuestion]
    short: list[BankQuestion]
    lists: list[BankQuestion]
    parts: list[BankQuestion]


def load_passes(folder: Path, known: set[str] | None = None) -> Passes:
    """Every question of the bank in `folder` and of its side folders (`*_folder`)."""
    return Passes(load_bank(folder, known), load_bank(route_folder(folder), known, safety_labels=True),
                  load_bank(turns_folder(folder), known, turns=True), load_bank(short_folder(folder), known),
                  load_bank(lists_folder(folder), known), load_bank(parts_folder(folder), known))


def bank_hash(folder: Path) -> str:
    """Hash of the bank's files and those of its route-only, chat-turn, short-message, list and
    open-part passes: a learned model trained on other data is stale."""
    h = hashlib.sha256()
    for path in [*bank_files(folder), *bank_files(route_folder(folder)), *bank_files(turns_folder(folder)),
                 *bank_files(short_folder(folder)), *bank_files(lists_folder(folder)),
                 *bank_files(parts_folder(folder))]:
        h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]
