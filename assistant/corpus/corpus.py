"""The corpus: parsed provisions joined with their curated layer, plus its validation."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from assistant.corpus.files import CorpusFiles, default_corpus_dir
from assistant.corpus.parse import parse, sha256
from assistant.corpus.source import read_source
from assistant.domain import AUDIENCES, LANGUAGES, PHASES, REPORTING_POINT, ROLES, TRACKS, Curation, Provision
from assistant.errors import CorpusError


@dataclass(frozen=True)
class SilentTopic:
    """A matter the code does not settle, with where a user should look instead."""

    id: str
    topic_nl: str
    topic_en: str
    where_nl: str
    where_en: str
    related: tuple[str, ...] = ()
    #: the pointer addressed to a company and written for school staff: {"company": {"nl": …}}
    voices: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the pointer in an answer of the safety route, per asker ("student" is the base text): the
    #: route cites the reporting point, so `where`, which tells what the code leaves open, would
    #: contradict it; a topic without one adds nothing there
    on_route: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the matter touches a ground of discrimination (a pregnancy, an age, an illness, a religion,
    #: an origin, a language): its pointer names the reporting point and a refusal cites it
    ground: bool = False

    @property
    def relates_reporting_point(self) -> bool:
        """Whether its pointer cites the reporting point among what the code does say nearby."""
        return REPORTING_POINT in self.related

    def where(self, role: str, lang: str) -> str:
        """Where to look instead, in the asker's voice (a student's text when there is no other)."""
        return self.voices.get(role, {}).get(lang) or (self.where_nl if lang == "nl" else self.where_en)

    def route_note(self, role: str, lang: str) -> str | None:
        """Where else to turn, beside the reporting point, in the asker's voice; None for a topic
        that has nothing to add to the safety route."""
        return self.on_route.get(role, {}).get(lang) or self.on_route.get("student", {}).get(lang)


@dataclass(frozen=True)
class NextStep:
    """Where an asker can turn when a rule an answer leads with is not kept: a note per asker
    and language, shown after an answer whose first citation is one of `after`, citing `cite`
    (the provision that names that place) when there is one."""

    id: str
    after: tuple[str, ...]
    cite: str | None
    #: {"student": {"nl": …, "en": …}}; a role without a note does not get the step
    notes: dict[str, dict[str, str]]
    #: the step says no more than its cited provision's own sentence: an answer that cites that
    #: provision itself does not show it
    unless_cited: bool = False

    def note(self, role: str, lang: str) -> str | None:
        return self.notes.get(role, {}).get(lang)


@dataclass
class Corpus:
    """All provisions in document order, their curation, the silent-topic list and the next steps."""

    provisions: list[Provision]
    curation: dict[str, Curation]
    silent_topics: list[SilentTopic] = field(default_factory=list)
    #: per provision, the summary addressed to a company and written for school staff
    voices: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    next_steps: list[NextStep] = field(default_factory=list)
    #: the folder this corpus came from (its question bank trains the learned models)
    files: CorpusFiles = field(default_factory=lambda: CorpusFiles(default_corpus_dir()))

    @cached_property
    def by_id(self) -> dict[str, Provision]:
        return {p.id: p for p in self.provisions}

    @cached_property
    def fingerprint(self) -> str:
        """Hash of everything the index is built from: a change means the index is stale."""
        h = hashlib.sha256()
        for p in self.provisions:
            h.update(f"{p.id}\0{p.text}\0".encode())
            c = self.curation.get(p.id)
            if c is not None:
                h.update(repr(c).encode())
        return h.hexdigest()[:16]

    def summary(self, pid: str, role: str, lang: str) -> str:
        """The plain-language summary in the asker's voice: a student is addressed as "you", a
        company as the host company, staff get the neutral third person."""
        voiced = self.voices.get(pid, {}).get(role, {}).get(lang)
        if voiced:
            return voiced
        c = self.curation.get(pid)
        if c is None:
            return self.by_id[pid].text
        return c.summary_nl if lang == "nl" else c.summary_en

    def english(self, pid: str) -> str:
        c = self.curation.get(pid)
        return c.en if c else ""

    def title(self, pid: str, lang: str) -> str:
        c = self.curation.get(pid)
        if c is None:
            return ""
        return c.title_nl if lang == "nl" else c.title_en

    def label(self, pid: str, lang: str) -> str:
        """Display label: structural place plus curated title, e.g. '3B › voltijd/deeltijd › 4 · Onkostenvergoeding'."""
        p = self.by_id[pid]
        base = p.label_nl if lang == "nl" else p.label_en
        title = self.title(pid, lang)
        return f"{base} · {title}" if title else base

    def language_examples(self) -> list[tuple[str, str]]:
        """(text, language) pairs from the code's own bilingual layer: each provision's label,
        title and summary in every voice, in Dutch and English, and its Dutch text beside the
        curated English. The code's terms ("Definities", "slotbepaling") are rare in questions."""
        out = []
        for p in self.provisions:
            for lang in LANGUAGES:
                out.append((self.label(p.id, lang), lang))
                out += [(self.summary(p.id, role, lang), lang) for role in ROLES]
            if english := self.english(p.id):
                out += [(p.text, "nl"), (english, "en")]
        return out

    def require_complete(self) -> None:
        """Refuse to answer from a source that lacks provisions the curated layer has (a cut or
        wrong file), or from a curated layer that is missing or lacks provisions."""
        if not self.curation:
            raise CorpusError(f"{self.files.curated}: no curated layer; the assistant needs it to answer")
        missing = [pid for pid in self.curation if pid not in self.by_id]
        if missing:
            raise CorpusError(
                f"the source parses to {len(self.provisions)} provisions but the curated layer has "
                f"{len(self.curation)}; missing {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}. "
                f"Is {self.files.source} the whole code?")
        uncurated = [p.id for p in self.provisions if p.id not in self.curation]
        if uncurated:
            raise CorpusError(
                f"{self.files.curated}: no entry for {len(uncurated)} of {len(self.provisions)} provisions "
                f"({', '.join(uncurated[:5])}{' …' if len(uncurated) > 5 else ''}); `stagecode corpus check` lists them")

    def problems(self) -> list[str]:
        """Validation: every id curated, no orphan entries, no entry written for other text, next
        steps that cite what they name, and topics about a ground of discrimination that point
        to the reporting point."""
        out = []
        for p in self.provisions:
            c = self.curation.get(p.id)
            if c is None:
                out.append(f"{p.id}: no curated entry")
            elif c.nl_sha256 != sha256(p.text):
                out.append(f"{p.id}: stale curated entry (written for other Dutch text)")
        for cid in self.curation:
            if cid not in self.by_id:
                out.append(f"{cid}: curated entry for a provision that does not exist")
        for step in self.next_steps:
            unknown = [pid for pid in (*step.after, step.cite or "") if pid and pid not in self.by_id]
            if unknown:
                out.append(f"next step {step.id}: unknown provision ids {', '.join(unknown)}")
            # an answer quotes a bare lead-in ("… zorgt in ieder geval:") by its items, never itself
            if lead_ins := [pid for pid in step.after if pid in self.by_id and self.by_id[pid].gives_way_to_items]:
                out.append(f"next step {step.id}: {', '.join(lead_ins)} never leads an answer (name its items)")
            for role, texts in step.notes.items():
                for lang, text in texts.items():
                    if (step.cite is not None) != (f"{{cite:{step.cite}}}" in text):
                        out.append(f"next step {step.id}: the {role} {lang} note must mark its citation "
                                   f"{{cite:{step.cite}}} exactly when it has one")
        for topic in (t for t in self.silent_topics if t.ground):
            if REPORTING_POINT not in topic.related:
                out.append(f"topic {topic.id}: a ground of discrimination, so {REPORTING_POINT} must be related")
            for role in ROLES:
                for lang, name in (("nl", "meldpunt"), ("en", "reporting point")):
                    if name not in topic.where(role, lang):
                        out.append(f"topic {topic.id}: the {role} {lang} pointer must name the {name}")
        return out


def _curation(pid: str, entry: dict) -> Curation:
    try:
        c = Curation(
            id=pid,
            nl=str(entry["nl"]),
            nl_sha256=str(entry.get("nl_sha256", "")),
            title_nl=str(entry["title_nl"]),
            title_en=str(entry["title_en"]),
            en=str(entry["en"]),
            summary_nl=str(entry["summary_nl"]),
            summary_en=str(entry["summary_en"]),
            audiences=tuple(entry["audiences"]),
            track=str(entry["track"]),
            phase=str(entry["phase"]),
        )
    except (KeyError, TypeError) as exc:
        raise CorpusError(f"curated entry {pid}: missing or malformed field {exc}") from None
    bad = [a for a in c.audiences if a not in AUDIENCES]
    if bad or c.track not in TRACKS or c.phase not in PHASES:
        raise CorpusError(f"curated entry {pid}: bad audiences/track/phase {bad or ''}")
    return c


def _yaml(path: Path) -> object:
    """Parse a YAML file with libyaml when PyYAML has it (about 10x faster than pure Python);
    a file that cannot be read or parsed is a `CorpusError` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise CorpusError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise CorpusError(f"{path}: not valid YAML{line} ({getattr(exc, 'problem', None) or exc})") from None


def load_curation(path: Path) -> dict[str, Curation]:
    data = _yaml(path) or {}
    if not isinstance(data, dict):
        raise CorpusError(f"{path}: expected a mapping of provision id to entry")
    return {str(k): _curation(str(k), v) for k, v in data.items()}


def _pointer_voices(entry: dict, suffix: str = "") -> dict[str, dict[str, str]]:
    """{"company_nl": …, "staff_en": …} → {"company": {"nl": …}, "staff": {"en": …}}, empty ones left
    out; with `suffix` "_on_route", from the keys "company_on_route_nl" and so on."""
    return {role: {lang: str(entry[f"{role}{suffix}_{lang}"]) for lang in ("nl", "en")
                   if entry.get(f"{role}{suffix}_{lang}")}
            for role in ("company", "staff")}


def _route_notes(topic: dict, voiced: dict) -> dict[str, dict[str, str]]:
    """A topic's pointers in an answer of the safety route: the student's from the topic list,
    the company's and staff's from the voices file; empty when the topic has none."""
    notes = {"student": {lang: str(topic[f"on_route_{lang}"]) for lang in ("nl", "en") if topic.get(f"on_route_{lang}")},
             **_pointer_voices(voiced, "_on_route")}
    return {role: texts for role, texts in notes.items() if texts}


def load_silent_topics(path: Path, voices_path: Path | None = None) -> list[SilentTopic]:
    if not path.exists():
        return []
    data = _yaml(path) or []
    voiced = _yaml(voices_path) if voices_path is not None and voices_path.exists() else {}
    if not isinstance(voiced, dict):
        raise CorpusError(f"{voices_path}: expected a mapping of topic id to voiced pointers")
    try:
        return [
            SilentTopic(
                id=str(d["id"]), topic_nl=d["topic_nl"], topic_en=d["topic_en"],
                where_nl=d["where_nl"], where_en=d["where_en"], related=tuple(d.get("related", ())),
                voices=_pointer_voices(voiced.get(str(d["id"])) or {}),
                on_route=_route_notes(d, voiced.get(str(d["id"])) or {}),
                ground=bool(d.get("ground", False)),
            )
            for d in data
        ]
    except (KeyError, TypeError, AttributeError) as exc:
        raise CorpusError(f"{path}: each topic needs id, topic_nl, topic_en, where_nl and where_en ({exc})") from None


def load_next_steps(path: Path) -> list[NextStep]:
    """The next steps of `next_steps.yaml`; none when the corpus has no such file."""
    if not path.exists():
        return []
    data = _yaml(path) or []
    need = f"{path}: each step needs id, after, cite (or null) and, for each role it speaks to, a note in nl and en"
    try:
        steps = [NextStep(str(d["id"]), tuple(str(a) for a in d["after"]),
                          None if d["cite"] is None else str(d["cite"]),
                          {role: {lang: str(d[role][lang]) for lang in LANGUAGES}
                           for role in ROLES if d.get(role)}, bool(d.get("unless_cited", False)))
                 for d in data]
    except (KeyError, TypeError, AttributeError) as exc:
        raise CorpusError(f"{need} ({exc})") from None
    if silent := [step.id for step in steps if not step.notes]:
        raise CorpusError(f"{need}; {', '.join(silent)} speaks to no role")
    return steps


def load_corpus(files: CorpusFiles | None = None, source: Path | str | None = None) -> Corpus:
    """Parse the source (or another `source` file) and join the curated layer, when there is one."""
    files = files or CorpusFiles(default_corpus_dir())
    raw = read_source(source if source is not None else files.source)
    provisions = parse(raw)
    curation = load_curation(files.curated) if files.curated.exists() else {}
    voices = _yaml(files.voices) if files.voices.exists() else {}
    if not isinstance(voices, dict):
        raise CorpusError(f"{files.voices}: expected a mapping of provision id to voices")
    return Corpus(provisions, curation, load_silent_topics(files.silent, files.silent_voices),
                  voices={str(k): v for k, v in voices.items()}, next_steps=load_next_steps(files.next_steps),
                  files=files)


def stamp_curated(corpus: Corpus) -> list[str]:
    """Record, for each entry whose `nl` copy equals the parsed text, the hash of that text.

    The reviewer's step after checking an entry against changed Dutch text: update its `nl`
    copy (and the English and summaries), then stamp. Entries whose copy differs are left
    stale and returned. Edits the file as text, so comments and layout stay.
    """
    path = corpus.files.curated
    if not path.is_file():
        raise CorpusError(f"{path}: no curated layer to stamp")
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    left: list[str] = []
    current: str | None = None
    for line in lines:
        if m := re.match(r"^([^\s#][^:]*):\s*$", line):
            current = m.group(1).strip().strip("'\"")
        if current and re.match(r"^\s+nl_sha256:", line):
            continue  # re-written below, after the nl line
        out.append(line)
        if current and re.match(r"^\s+nl:", line):
            c = corpus.curation.get(current)
            p = corpus.by_id.get(current)
            if c is not None and p is not None and c.nl == p.text:
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f"{indent}nl_sha256: {sha256(p.text)}")
            else:
                left.append(current)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return left
