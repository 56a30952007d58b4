"""The default answer: deterministic, offline, in the asker's language, citing provisions.

It opens with a plain-language answer built from the curated summaries of what it cites,
states scope when a rule applies to one track only, says what the code leaves open, and
then lists each citation with its verbatim Dutch text (and the English rendering).
"""

from __future__ import annotations

from assistant.abstain import Verdict
from assistant.corpus import Corpus
from assistant.domain import Answer, Citation
from assistant.retrieve import Hit

CITE_RATIO = 0.9  # cite a further provision only when its fused score is this close to the best
CITE_DENSE_GAP = 0.0  # … and its similarity to the question at most this much lower
MAX_CITATIONS = 3

TEXTS = {
    "nl": {
        "sources": "Bronnen (de Nederlandse tekst is leidend)",
        "no_answer": "De Stagecode hbo geeft hierop geen antwoord.",
        "injection": "Ik kan mijn instructies niet aanpassen of negeren. Ik beantwoord alleen "
        "vragen over de Stagecode hbo, op basis van de tekst van de code zelf.",
        "unrelated": "Deze vraag gaat niet over de Stagecode hbo. Ik beantwoord alleen vragen "
        "over die code: stages en duale trajecten in het hbo.",
        "not_covered": "Daar zegt de Stagecode hbo niets over. Kijk in je stageovereenkomst of "
        "de stage- en examenregeling van je opleiding, of vraag het je contactpersoon op school.",
        "related": "Wat de code wel zegt en hiermee samenhangt:",
        "not_set": {
            "amount": "De code noemt geen bedrag.",
            "duration": "De code noemt geen duur of aantal uren, dagen of weken.",
            "deadline": "De code noemt geen termijn.",
        },
        "vd_only": "Dit geldt voor voltijd- en deeltijdopleidingen.",
        "duaal_only": "Dit geldt voor duale opleidingen.",
        "vd_not_duaal": "Let op: {ids} {verb} alleen voor voltijd- en deeltijdopleidingen, niet "
        "voor duale opleidingen.",
        "duaal_not_vd": "Let op: {ids} {verb} alleen voor duale opleidingen, niet voor voltijd- "
        "en deeltijdopleidingen.",
        "verb1": "geldt",
        "verbn": "gelden",
        "unofficial": "",
    },
    "en": {
        "sources": "Sources (the Dutch text is authoritative; the English is an unofficial translation)",
        "no_answer": "The Stagecode hbo does not answer this.",
        "injection": "I can't change or ignore my instructions. I only answer questions about "
        "the Stagecode hbo, based on the text of the code itself.",
        "unrelated": "This question is not about the Stagecode hbo. I only answer questions "
        "about that code: internships and dual programmes in Dutch higher professional education.",
        "not_covered": "The Stagecode hbo says nothing about this. Check your internship agreement "
        "(stageovereenkomst) or your programme's internship and examination rules, or ask your "
        "school contact person.",
        "related": "What the code does say on related matters:",
        "not_set": {
            "amount": "The code sets no amount.",
            "duration": "The code sets no duration or number of hours, days or weeks.",
            "deadline": "The code sets no deadline.",
        },
        "vd_only": "This applies to full-time and part-time programmes.",
        "duaal_only": "This applies to dual programmes.",
        "vd_not_duaal": "Note: {ids} {verb} only to full-time and part-time programmes, not to "
        "dual programmes.",
        "duaal_not_vd": "Note: {ids} {verb} only to dual programmes, not to full-time and "
        "part-time programmes.",
        "verb1": "applies",
        "verbn": "apply",
        "unofficial": "EN (unofficial translation)",
    },
}


def citation(corpus: Corpus, pid: str, lang: str, score: float = 0.0) -> Citation:
    p = corpus.by_id[pid]
    return Citation(pid, corpus.label(pid, lang), p.text, corpus.english(pid), round(score, 4))


def select(hits: list[Hit], corpus: Corpus, track: str | None) -> tuple[list[Hit], list[str]]:
    """Pick the few provisions that answer; set aside those for the other track.

    Returns the cited hits and the ids of strong hits that apply to the other track only
    (judged on their score before the track penalty: were they what the asker looked for?).
    """
    def applies(h: Hit) -> bool:
        return not track or corpus.by_id[h.pid].track in ("all", track)

    fitting = [h for h in hits if applies(h)]
    chosen: list[Hit] = []
    if fitting:
        best, best_dense = fitting[0].score, fitting[0].dense
        for h in fitting:
            if chosen and (h.score < CITE_RATIO * best or h.dense < best_dense - CITE_DENSE_GAP
                           or len(chosen) >= MAX_CITATIONS):
                break
            chosen.append(h)
    top = max((h.base for h in hits), default=0.0)
    other = [h.pid for h in hits if not applies(h) and h.base >= CITE_RATIO * top]
    # a lead-in ("… zorgt in ieder geval:") says nothing without its items
    out: list[Hit] = []
    for h in chosen:
        p = corpus.by_id[h.pid]
        if p.children and p.text.endswith(":"):
            out.extend(Hit(c, h.score, h.dense, h.lexical) for c in p.children)
        else:
            out.append(h)
    seen: set[str] = set()
    return [h for h in out if not (h.pid in seen or seen.add(h.pid))], other[:1]


def _scope(corpus: Corpus, pids: list[str], other: list[str], track: str | None, lang: str) -> list[str]:
    t = TEXTS[lang]
    notes = []
    tracks = {corpus.by_id[p].track for p in pids}
    if tracks == {"vd"} and track != "vd":
        notes.append(t["vd_only"])
    elif tracks == {"duaal"} and track != "duaal":
        notes.append(t["duaal_only"])
    if other:
        ids = ", ".join(other)
        verb = t["verb1"] if len(other) == 1 else t["verbn"]
        key = "vd_not_duaal" if corpus.by_id[other[0]].track == "vd" else "duaal_not_vd"
        notes.append(t[key].format(ids=ids, verb=verb))
    return notes


def sources_block(corpus: Corpus, cites: list[Citation], lang: str) -> str:
    t = TEXTS[lang]
    lines = [f"{t['sources']}:"]
    for i, c in enumerate(cites, 1):
        lines.append(f"[{i}] {c.id} — {c.label}")
        lines.append(f"    “{c.text}”")
        if lang == "en" and c.text_en:
            lines.append(f"    {t['unofficial']}: “{c.text_en}”")
    return "\n".join(lines)


def compose(
    question: str,
    lang: str,
    role: str,
    hits: list[Hit],
    verdict: Verdict,
    corpus: Corpus,
    track: str | None,
) -> Answer:
    """Build the answer for one question from the retrieval hits and the abstention verdict."""
    t = TEXTS[lang]
    if verdict.abstain:
        reason = verdict.reasons[0] if verdict.reasons else "not_covered"
        if reason in ("injection", "unrelated"):
            head = [t[reason]]
            related: list[str] = []
        elif reason == "off_subject":  # no provision has a word of its subject: none is related
            head, related = [t["not_covered"]], []
        else:
            head = [t["no_answer"]] if verdict.silent or verdict.not_set else [t["not_covered"]]
            head += [t["not_set"][f] for f in verdict.not_set]
            head += [s.where_nl if lang == "nl" else s.where_en for s in verdict.silent[:2]]
            related = [r for s in verdict.silent for r in s.related]
            cited, _ = select(hits, corpus, track)
            related += [h.pid for h in cited if h.dense >= 0.3]
            related = list(dict.fromkeys(r for r in related if r in corpus.by_id))[:MAX_CITATIONS]
        cites = [citation(corpus, r, lang) for r in related]
        body = " ".join(dict.fromkeys(head))
        if cites:
            body += "\n\n" + t["related"] + "\n\n" + sources_block(corpus, cites, lang)
        return Answer(question, lang, body, True, cites, role, list(verdict.reasons), track=track)

    chosen, other = select(hits, corpus, track)
    # a rule for the other track is cited too, after the rest, with a note that it does not apply
    by_pid = {h.pid: h for h in hits}
    cites = [citation(corpus, h.pid, lang, h.score) for h in chosen]
    cites += [citation(corpus, pid, lang, by_pid[pid].score) for pid in other]
    sentences = []
    for i, h in enumerate(chosen, 1):
        c = corpus.curation.get(h.pid)
        summary = (c.summary_nl if lang == "nl" else c.summary_en) if c else corpus.by_id[h.pid].text
        sentences.append(f"{summary} [{i}]")
    parts = [" ".join(sentences)]
    scope = _scope(corpus, [h.pid for h in chosen], other, track, lang)
    if scope:
        parts.append(" ".join(scope))
    if verdict.partial:
        parts.append(" ".join([t["not_set"][f] for f in verdict.not_set] + [
            s.where_nl if lang == "nl" else s.where_en for s in verdict.silent[:2]
        ]))
    body = "\n\n".join(parts) + "\n\n" + sources_block(corpus, cites, lang)
    return Answer(question, lang, body, False, cites, role, list(verdict.reasons), track=track)
