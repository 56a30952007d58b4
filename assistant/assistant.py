"""The one API the CLI and the UI use: `Assistant.ask`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache, cached_property
from typing import TYPE_CHECKING

from assistant.answering.abstain import ROUTE_REASONS, Verdict, decide, is_injection, strip_injection
from assistant.answering.answer import compose, section_answer, with_reporting_point
from assistant.answering.conversation import Conversation, Turn, is_follow_up, readings, resolve
from assistant.answering.render import TEXTS, compose_text, listed, prefixed
from assistant.corpus import ids
from assistant.corpus.corpus import Corpus
from assistant.domain import LANGUAGES, REPORTING_POINT, ROLES, Answer, as_choice
from assistant.errors import InputError
from assistant.search.retrieve import Findings, Hit, Retriever
from assistant.text import lexicon
from assistant.text.language import detect
from assistant.text.tokens import stems, words

if TYPE_CHECKING:
    from assistant.llm.generate import Generator

MAX_QUESTION = 2000

OTHER_LANGUAGE = (
    "I can only answer in Dutch or English. Please ask your question in English or Dutch. / "
    "Ik kan alleen in het Nederlands of Engels antwoorden. Stel je vraag in het Nederlands of Engels."
)


IGNORED_OVERRIDE = {
    "nl": "Ik negeer verzoeken om mijn instructies te veranderen. Over je vraag zegt de code dit:",
    "en": "I ignore requests to change my instructions. On your question, the code says this:",
}


def clean_question(text: object) -> str:
    """Strip control, zero-width and direction characters; collapse white space."""
    if not isinstance(text, str):
        raise InputError("The question must be text.")
    # a printable text has none of those characters (nor tabs or line breaks): no pass over it
    kept = text if text.isprintable() else "".join(
        " " if ch in "\t\n\r" else ch
        for ch in text
        if ch in "\t\n\r" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )
    return re.sub(r"\s+", " ", kept).strip()


def _too_long(length: int) -> InputError:
    return InputError(
        f"The question is {length} characters long; the limit is {MAX_QUESTION}. "
        f"Please shorten it. / De vraag is te lang ({length} tekens, maximaal {MAX_QUESTION})."
    )


def validate(question: object, role: str, lang: str | None) -> str:
    # a raw text far over the limit is refused before any work is done on it (a 100 MB paste)
    if isinstance(question, str) and len(question) > 4 * MAX_QUESTION:
        raise _too_long(len(question))
    q = clean_question(question)
    if not q:
        raise InputError("The question is empty. / De vraag is leeg.")
    if len(q) > MAX_QUESTION:
        raise _too_long(len(q))
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")
    if lang is not None and lang not in LANGUAGES:
        raise InputError(f"Unknown language {lang!r}; choose nl or en.")
    return q


_REFERENCE_WORDS = lexicon.words("reference_words")
_CODE_TERMS = lexicon.words("code_terms")


@cache
def _reference_stems(lang: str) -> frozenset[str]:
    """Stems of the words that ask for a part, less the code's own terms: "definitie
    stagecode?" asks for one definition, not the part."""
    return stems(" ".join(sorted(_REFERENCE_WORDS - _CODE_TERMS)), lang)


def _asks_more_than_the_reference(question: str) -> bool:
    """Whether a question naming a part also asks something specific about it."""
    rest = [w for w in words(question) if w not in _REFERENCE_WORDS and not re.fullmatch(r"\d+[a-z]?", w)]
    return len(rest) >= 2


@dataclass
class Assistant:
    """Answers questions about the Stagecode hbo from a local index."""

    corpus: Corpus
    retriever: Retriever
    #: optional generative answers: None keeps the deterministic answer only
    generator: Generator | None = None

    # -- named provisions -------------------------------------------------------------

    @cached_property
    def _ids(self) -> tuple[str, ...]:
        return tuple(self.corpus.by_id)

    def named(self, question: str) -> tuple[list[str], str | None]:
        """Provisions a question names ('3B.vd.4', 'artikel 4', 'voetnoot 3'), and a bad name."""
        q = question.lower()
        if pid := ids.first_mentioned(q, self._ids):
            return [pid], None
        # an id-shaped name that does not exist ('3B.vd.9', 'def.foo') is not searched as words;
        # both patterns ignore case, so the name is given as the asker spelled it
        if m := ids.ID_SHAPE.search(question):
            return [], m.group(0)
        if m := ids.LOOSE_ID.match(question):  # '4.5', '3B.dual.1' on their own: a mistyped id, not a question
            return [], m.group(1)
        if m := ids.FOOTNOTE_NAME.search(q):
            pid = f"fn.{m.group(1)}"
            return ([pid], None) if pid in self.corpus.by_id else ([], m.group(0))
        m = ids.PART_NAME.search(q) or ids.SECTION_NAME.search(q)
        if m:
            prefix = m.group(1).upper() if len(m.group(1)) > 1 else m.group(1)
            if prefix == "1":  # section 1 holds the definitions, whose ids are def.<term>
                prefix = "def"
            found = [
                p.id for p in self.corpus.provisions
                if (p.id == prefix or p.id.startswith(prefix + ".") or (
                    len(prefix) == 1 and p.id[:1] == prefix and p.id[1:2] in ("A", "B", "."))
                ) and p.kind not in ("item", "footnote")
            ]
            return (found, None) if found else ([], m.group(0))
        if titled := self._titled_part(question):
            return self._part_ids(titled[0]), None
        return [], None

    @cached_property
    def _part_titles(self) -> list[tuple[str, str, frozenset[str]]]:
        """(part, language, stems) of every part's title as the answers name them ('1 Definities',
        'a closing provision'), less the words that merely ask for a part."""
        out = []
        for lang in LANGUAGES:
            names = TEXTS[lang]["parts"]
            for part in ids.parts(self._ids):
                title = names.get(part, "").format(first="", last="")
                if key := stems(title, lang) - _reference_stems(lang):
                    out.append((part, lang, key))
        return out

    def _titled_part(self, question: str) -> tuple[str, str] | None:
        """The part a message names by its title and nothing more ("the definitions",
        "slotbepaling", "what does the introduction say?"), and the language of that title: the
        names the answers give the parts are names the asker can use."""
        asked = {lang: stems(question, lang) - _reference_stems(lang) for lang in LANGUAGES}
        return next(((part, lang) for part, lang, key in self._part_titles if asked[lang] == key), None)

    def _part_ids(self, part: str) -> list[str]:
        """A part's provisions in document order: its footnotes for the footnotes, else all but
        the lettered items and footnotes, which their parents' answers quote."""
        return [p.id for p in self.corpus.provisions if ids.part_of(p.id) == part
                and (part == "fn" or p.kind not in ("item", "footnote"))]

    def _parts(self, lang: str) -> str:
        """The document's parts as the parsed corpus has them: 'een inleiding, 1 Definities, …'."""
        names = TEXTS[lang]["parts"]
        notes = ids.footnote_numbers(self._ids)
        shown = [names.get(part, part) for part in ids.parts(self._ids) if part != "fn"]
        if notes:
            shown.append(names["fn"].format(first=notes[0], last=notes[-1]))
        return listed(shown, lang)

    # -- asking ----------------------------------------------------------------------

    def ask(
        self,
        question: object,
        role: str = "student",
        lang: str | None = None,
        conversation: Conversation | None = None,
        on_token: Callable[[str], None] | None = None,
        llm: bool = True,
        reader: str | None = None,
    ) -> Answer:
        """Answer one question; with a conversation, resolve follow-ups and record the turn.

        `reader`: the language the asker reads in (the app's interface), for a message of a word
        or two that opens a chat, whose own language says too little ("vog", "discriminatie").

        With a generator (and `llm`), an answered question is rewritten by the language model,
        its text chunks passed to `on_token` as they come, and checked by the citation guard.
        """
        role, lang = as_choice(role), as_choice(lang)
        q = validate(question, role, lang)
        last = conversation.last if conversation is not None else None
        # a bare id or a word or two says too little about its language: the chat's wins, else
        # the one the asker reads in
        known = last.language if last is not None else reader
        few = len(q.split()) <= 2
        # the bank's vocabulary is only read (and learned, once) for a message of a word or two
        detected = known if known in LANGUAGES and few else detect(q, self.retriever.word_languages if few else None)
        if lang is None and known is None and few and (titled := self._titled_part(q)):
            detected = titled[1]  # a part's name on its own ("footnotes") is in its title's language
        if lang is None and detected not in LANGUAGES:
            return compose_text(Answer(q, "en", "", True, [], role, [f"language:{detected}"], lead=OTHER_LANGUAGE))
        language = lang or detected
        asked = q
        genuine = strip_injection(q) if is_injection(q) else None
        if genuine:
            q = genuine  # answer the real question; the override attempt is ignored, and said so
        named, bad = self.named(q)
        found = None
        if named or bad or self.retriever.model.reading is None:
            query, track = resolve(q, conversation)
        else:
            query, track, found = self._read(q, conversation, role)
        hits: list[Hit] = []
        top_similarity = None
        cut = self.retriever.model.thresholds
        if len(named) > 1 and _asks_more_than_the_reference(q) and not self._titled_part(q):
            # "what do the dual agreements in 3B say?": search within the named part
            within = set(named) | {c for pid in named for c in self.corpus.by_id[pid].children}
            hits = self.retriever.search(query, role, track, within=within)
            answer = compose(q, language, role, hits, Verdict(False), self.corpus, track,
                             cut["cite_min"], cut["cite_ratio"])
        elif named or bad:
            answer = self._named_answer(q, language, role, named, bad, track)
        else:
            found = found or self.retriever.examine(query, role, track)
            if found.list_share is None:  # a follow-up's own model has chosen between list and point
                found = self.retriever.with_list_offer(found, q, role)
            hits, top_similarity = found.hits, found.top_similarity
            verdict = decide(found, self.corpus, cut)
            if (verdict.offer_list or "list" in verdict.reasons) and found.party is None:
                found = self.retriever.with_list_choices(found, q, role)
                verdict = replace(verdict, party=found.party, phase=found.phase)
            answer = compose(q, language, role, hits, verdict, self.corpus, track,
                             cut["cite_min"], cut["cite_ratio"])
        answer.resolved_question = query if query != q else None
        answer.top_similarity = top_similarity
        # -- optional generative answer: guarded, falls back to the answer above --
        if llm and self.generator is not None:
            answer = self.generator.generate(answer, self.corpus, conversation, on_token)
        # --
        if genuine:
            answer.question = asked
            if "injection" not in answer.reasons:  # what is left was an override attempt too
                prefixed(answer, IGNORED_OVERRIDE[language])
                answer.reasons.append("injection_ignored")
        if conversation is not None and conversation.lost and last is None and is_follow_up(q):
            # a follow-up whose earlier turns this server no longer holds
            prefixed(answer, TEXTS[language]["no_context"])
            answer.reasons.append("no_context")
        # a turn the code did not answer (an injection, an unrelated request) is no context
        if conversation is None or (answer.abstained and set(answer.reasons) & {
                "injection", "unrelated", "no_such_provision"}):
            return answer
        routed = bool(ROUTE_REASONS & set(answer.reasons))
        # the turn right after one the safety route answered keeps the reporting point in view
        if last is not None and last.safety and not routed and all(c.id != REPORTING_POINT for c in answer.citations):
            with_reporting_point(answer, self.corpus)
        conversation.turns.append(Turn(q, query, track, [c.id for c in answer.citations], language, routed))
        return answer

    def _read(self, q: str, conversation: Conversation | None, role: str) -> tuple[str, str | None, Findings]:
        """Search a chat message alone and, when it may lean on the previous turn, joined to it;
        the reading model says which reading the asker meant, at its threshold for a message
        that opens like a follow-up or for one that does not. Returns that reading's query,
        track and findings."""
        alone, both = readings(q, conversation)
        found = self.retriever.examine(alone.query, role, alone.track)
        if both is None:
            return alone.query, alone.track, found
        found_both = self.retriever.examine(both.query, role, both.track)
        opening = is_follow_up(q)
        follows = self.retriever.follows(found, found_both, opening)
        cut = self.retriever.model.thresholds["follows_min_opening" if opening else "follows_min"]
        if follows is not None and follows >= cut:
            return both.query, both.track, self.retriever.list_choices_of_follow_up(found_both, found, alone.query, role)
        return alone.query, alone.track, found

    def _named_answer(
        self, q: str, lang: str, role: str, named: list[str], bad: str | None, track: str | None
    ) -> Answer:
        if bad:
            msg = TEXTS[lang]["no_such_part"].format(name=bad, parts=self._parts(lang))
            if near := ids.closest(bad, self._ids):
                msg += " " + TEXTS[lang]["did_you_mean"].format(ids=TEXTS[lang]["or"].join(near))
            return compose_text(Answer(q, lang, "", True, [], role, ["no_such_provision"], track=track, lead=msg))
        if len(named) == 1:
            hit = Hit(named[0], 1.0)
            return compose(q, lang, role, [hit], Verdict(False), self.corpus, None, named=True)
        return section_answer(q, lang, role, named, self.corpus, track)
