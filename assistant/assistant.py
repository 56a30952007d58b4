"""The one API the CLI and the UI use: `Assistant.ask`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from assistant.abstain import Verdict, judge
from assistant.answer import citation, compose, sources_block
from assistant.conversation import Conversation, Turn, resolve
from assistant.corpus import Corpus, load_corpus
from assistant.domain import LANGUAGES, ROLES, Answer
from assistant.embeddings import load_embeddings
from assistant.index import INDEX_DIR, open_index
from assistant.language import detect
from assistant.retrieve import Hit, Retriever

MAX_QUESTION = 2000

OTHER_LANGUAGE = (
    "I can only answer in Dutch or English. Please ask your question in English or Dutch. / "
    "Ik kan alleen in het Nederlands of Engels antwoorden. Stel je vraag in het Nederlands of Engels."
)


class InputError(ValueError):
    """A question or option the assistant cannot take; the message says what to change."""


def clean_question(text: object) -> str:
    """Strip control, zero-width and direction characters; collapse white space."""
    if not isinstance(text, str):
        raise InputError("The question must be text.")
    kept = "".join(
        " " if ch in "\t\n\r" else ch
        for ch in text
        if ch in "\t\n\r" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )
    return re.sub(r"\s+", " ", kept).strip()


def validate(question: object, role: str, lang: str | None) -> str:
    q = clean_question(question)
    if not q:
        raise InputError("The question is empty. / De vraag is leeg.")
    if len(q) > MAX_QUESTION:
        raise InputError(
            f"The question is {len(q)} characters long; the limit is {MAX_QUESTION}. "
            f"Please shorten it. / De vraag is te lang ({len(q)} tekens, maximaal {MAX_QUESTION})."
        )
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")
    if lang is not None and lang not in LANGUAGES:
        raise InputError(f"Unknown language {lang!r}; choose nl or en.")
    return q


@dataclass
class Assistant:
    """Answers questions about the Stagecode hbo from a local index."""

    corpus: Corpus
    retriever: Retriever

    @classmethod
    def load(
        cls,
        embeddings: str | Embeddings | None = None,
        index_dir: str | None = None,
        corpus: Corpus | None = None,
        progress: bool = True,
        rebuild: bool = False,
    ) -> Assistant:
        """Open (building if needed) the index for the corpus and embedding model."""
        from pathlib import Path

        corpus = corpus or load_corpus()
        emb = embeddings if isinstance(embeddings, Embeddings) else load_embeddings(embeddings)
        index = open_index(corpus, emb, Path(index_dir) if index_dir else INDEX_DIR, progress, rebuild)
        return cls(corpus, Retriever(corpus, index, emb))

    # -- named provisions -------------------------------------------------------------

    def named(self, question: str) -> tuple[list[str], str | None]:
        """Provisions a question names ('3B.vd.4', 'artikel 4', 'voetnoot 3'), and a bad name."""
        q = question.lower()
        ids = sorted(self.corpus.by_id, key=len, reverse=True)
        for pid in ids:
            if re.search(rf"(?<![\w.]){re.escape(pid.lower())}(?![\w])", q):
                return [pid], None
        if m := re.search(r"\b(?:voetnoot|footnote|fn)\s*(\d+)\b", q):
            pid = f"fn.{m.group(1)}"
            return ([pid], None) if pid in self.corpus.by_id else ([], m.group(0))
        m = re.search(
            r"\b(?:artikel|article|art\.?|section|sectie|paragraaf|paragraph|hoofdstuk|chapter|onderdeel|deel|part)\s*(\d+[a-z]?)\b",
            q,
        ) or re.search(r"(?<![\w.])([1-9][ab])(?![\w.])", q)
        if m:
            prefix = m.group(1).upper() if len(m.group(1)) > 1 else m.group(1)
            found = [
                p.id for p in self.corpus.provisions
                if (p.id == prefix or p.id.startswith(prefix + ".") or (
                    len(prefix) == 1 and p.id[:1] == prefix and p.id[1:2] in ("A", "B", "."))
                ) and p.kind not in ("item", "footnote")
            ]
            return (found, None) if found else ([], m.group(0))
        return [], None

    # -- asking ----------------------------------------------------------------------

    def ask(
        self,
        question: object,
        role: str = "student",
        lang: str | None = None,
        conversation: Conversation | None = None,
    ) -> Answer:
        """Answer one question; with a conversation, resolve follow-ups and record the turn."""
        q = validate(question, role, lang)
        detected = detect(q)
        if lang is None and detected not in LANGUAGES:
            return Answer(q, "en", OTHER_LANGUAGE, True, [], role, [f"language:{detected}"])
        language = lang or detected
        query, track, _ = resolve(q, conversation)

        named, bad = self.named(q)
        if named or bad:
            answer = self._named_answer(q, language, role, named, bad, track)
        else:
            hits = self.retriever.search(query, role, track)
            answer = compose(q, language, role, hits, judge(query, hits, self.corpus), self.corpus, track)
        answer.resolved_question = query if query != q else None
        # a turn the code did not answer (an injection, an unrelated request) is no context
        if conversation is not None and not (answer.abstained and set(answer.reasons) & {
            "injection", "unrelated", "no_such_provision"}):
            conversation.turns.append(
                Turn(q, query, track, [c.id for c in answer.citations], language)
            )
        return answer

    def _named_answer(
        self, q: str, lang: str, role: str, named: list[str], bad: str | None, track: str | None
    ) -> Answer:
        if bad:
            msg = (
                f"De Stagecode hbo heeft geen onderdeel “{bad}”. De code bestaat uit een inleiding, "
                "1 Definities, 2 Algemene afspraken studenten, 3A en 3B Stagebegeleiding, "
                "4 Voorkomen van stagediscriminatie, een slotbepaling en voetnoten 1–5."
                if lang == "nl"
                else f"The Stagecode hbo has no part “{bad}”. It consists of an introduction, "
                "1 Definitions, 2 General agreements for students, 3A and 3B Internship "
                "supervision, 4 Preventing internship discrimination, a closing provision and "
                "footnotes 1–5."
            )
            return Answer(q, lang, msg, True, [], role, ["no_such_provision"], track=track)
        if len(named) == 1:
            hit = Hit(named[0], 1.0, 1.0, 0.0)
            return compose(q, lang, role, [hit], Verdict(False), self.corpus, None)
        cites = [citation(self.corpus, pid, lang) for pid in named]
        head = ("Dit onderdeel bevat:" if lang == "nl" else "This part contains:") + "\n" + "\n".join(
            f"- {c.id}: {self.corpus.title(c.id, lang) or c.label}" for c in cites
        )
        return Answer(q, lang, head + "\n\n" + sources_block(self.corpus, cites, lang), False, cites,
                      role, ["named_section"], track=track)
