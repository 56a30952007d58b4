"""The default answer: deterministic, offline, in the asker's language and voice, citing provisions.

It opens with a plain-language answer built from the summaries of what it cites, addressed
to the role that asks; states scope when a rule applies to one track only; says what the
code leaves open; and then lists each citation with its verbatim Dutch text (and the English
rendering). The fixed texts are data (texts/answers.yaml).
"""

from __future__ import annotations

import re

from assistant.answering.abstain import OPEN_FIRST, RELATED_MIN, ROUTE_REASONS, Verdict
from assistant.answering.checklist import checklist
from assistant.answering.render import TEXTS, compose_text, listed
from assistant.corpus.corpus import Corpus, NextStep, SilentTopic
from assistant.domain import AUDIENCE_ROLE, LIST_PHASES, REPORTING_POINT, ROLE_AUDIENCE, Answer, Citation
from assistant.search.retrieve import Hit, names_track

MAX_CITATIONS = 3
#: the code's two pay rules: a question about one is a question about pay, answered with both
PAY = ("3B.vd.4", "3B.vd.5")
#: the safety route: the reporting point and how to recognise and report
SAFETY = (REPORTING_POINT, "4.aanv.5")
#: what the route adds for each asker: the provisions the safety-route passes label for at least
#: half of that asker's cases, most often labelled first (a test derives them from the passes):
#: for staff the follow-up after a report; for a company its own duties of fair and safe
#: treatment and of a safe and inclusive culture on its work floor
SAFETY_BY_ROLE = {"student": (), "staff": ("4.aanv.7",), "company": ("4.aanv.2", "3B.3")}
MAX_SAFETY_CITATIONS = 5


def _voiced(text: object, role: str) -> str:
    return text[role] if isinstance(text, dict) else str(text)


def _marked(text: str, pids: list[str]) -> str:
    """A fixed text with each `{cite:ID}` turned into that provision's number among the cited,
    or dropped when it is not cited: a note may lean on a provision only where it is shown."""
    return re.sub(r"\{cite:([^}]+)\}", lambda m: f" [{pids.index(m[1]) + 1}]" if m[1] in pids else "", text)


def safety_note(parts: list[str | dict[str, str]], pids: list[str]) -> str:
    """The safety route's note for an answer citing `pids`: a part marked `uncited` is left out
    when that provision is cited (its sentence in the answer says the same), and a part marked
    `cited`, which leans on it, is kept only then."""
    def shown(part: str | dict[str, str]) -> bool:
        if isinstance(part, str):
            return True
        return ("cited" not in part or part["cited"] in pids) and part.get("uncited") not in pids

    return _marked(" ".join(p if isinstance(p, str) else p["text"] for p in parts if shown(p)), pids)


def safety_route(role: str) -> list[str]:
    """The provisions the safety route cites for this asker, the reporting point first (an answer
    leads with the first of them that concerns the asker, see compose)."""
    return [*SAFETY, *SAFETY_BY_ROLE.get(role, ())]


def citation(corpus: Corpus, pid: str, lang: str, score: float = 0.0) -> Citation:
    p = corpus.by_id[pid]
    parent = corpus.by_id.get(p.parent or "")
    lead_in = parent.text if parent is not None and p.kind == "item" else ""
    return Citation(pid, corpus.label(pid, lang), p.text, corpus.english(pid), round(score, 4), lead_in)


def select(hits: list[Hit], corpus: Corpus, track: str | None, cite_min: float = 0.0,
           cite_ratio: float = 0.0) -> tuple[list[Hit], list[str]]:
    """Pick the few provisions that answer; set aside those for the other track.

    A provision is cited when the ranker's probability is at least `cite_min` and at least
    `cite_ratio` times the best one (both learned, see learn/train.py), three at most.
    Returns the cited hits and the ids of strong hits that apply to the other track only.
    """
    def applies(h: Hit) -> bool:
        return not track or corpus.by_id[h.pid].track in ("all", track)

    fitting = [h for h in hits if applies(h)]
    chosen: list[Hit] = []
    if fitting:
        best = fitting[0].score
        for h in fitting:
            if chosen and (h.score < cite_min or h.score < cite_ratio * best
                           or len(chosen) >= MAX_CITATIONS):
                break
            chosen.append(h)
    top = max((h.score for h in hits), default=0.0)
    other = [h.pid for h in hits if not applies(h) and h.score >= max(cite_min, cite_ratio * top)]
    # a lead-in ("… zorgt in ieder geval:", "De ambities van dit manifest zijn:") says nothing
    # without its items: they follow it, and take its place when it says nothing else
    out: list[Hit] = []
    for h in chosen:
        p = corpus.by_id[h.pid]
        if p.announces_items:
            if not p.gives_way_to_items:
                out.append(h)
            out.extend(Hit(c, h.score) for c in p.children)
        else:
            out.append(h)
    seen: set[str] = set()
    return [h for h in out if not (h.pid in seen or seen.add(h.pid))], other[:1]


def _scope(corpus: Corpus, pids: list[str], other: list[str], track: str | None, lang: str,
           role: str) -> tuple[list[str], list[str]]:
    """Which track the cited rules are for, and a note on each rule cited for the other track
    only (numbered as its source, which follows the answer's own); and apart, the track note
    when every cited rule's sentence in the asker's voice already names that track."""
    t = TEXTS[lang]
    notes, stated = [], []
    tracks = {corpus.by_id[p].track for p in pids}
    for one, key in (("vd", "vd_only"), ("duaal", "duaal_only")):
        if tracks == {one} and track != one:
            said = all(names_track(corpus.summary(p, role, lang), one) for p in pids)
            (stated if said else notes).append(t[key])
    if other:
        named = [f"“{corpus.title(pid, lang)}” [{n}]" for n, pid in enumerate(other, len(pids) + 1)]
        ids = f"{t['rule1'] if len(other) == 1 else t['rulen']} {listed(named, lang)}"
        verb = t["verb1"] if len(other) == 1 else t["verbn"]
        key = "vd_not_duaal" if corpus.by_id[other[0]].track == "vd" else "duaal_not_vd"
        notes.append(t[key].format(ids=ids, verb=verb))
    return notes, stated


def _about_pay(pids: list[str], hits: dict[str, Hit]) -> bool:
    """A question is about pay when a pay rule is its first citation or more likely than not to
    answer it; a pay rule cited behind the question's real subject does not make it one."""
    return bool(pids) and (pids[0] in PAY or any(
        p in pids and p in hits and hits[p].score >= RELATED_MIN for p in PAY))


def _reporting_point_last(related: list[str]) -> list[str]:
    """At most three related provisions, the reporting point the last of them."""
    return [r for r in related if r != REPORTING_POINT][:MAX_CITATIONS - 1] + [REPORTING_POINT]


def _abstained(question: str, lang: str, role: str, hits: list[Hit], verdict: Verdict, corpus: Corpus,
               track: str | None) -> Answer:
    """What the code does not answer: why, where to look instead, and what the code does say
    nearby: the known topic's related provisions and any provision the ranker thinks more
    likely than not to answer. Nothing else is cited: provisions that merely resemble the
    question would read as an answer. A known topic's pointer opens by saying what the code
    leaves open, so it leads alone: a blanket "does not answer this" would be wrong for a
    question whose other part a related provision settles."""
    t = TEXTS[lang]
    reason = verdict.reasons[0] if verdict.reasons else "not_covered"
    related: list[str] = []
    head: list[str]
    if reason == "unrelated" and verdict.silent:
        s = verdict.silent[0]
        head = [t["unrelated_topic"].format(topic=s.topic_nl if lang == "nl" else s.topic_en,
                                            where=s.where(role, lang))]
    elif reason in ("injection", "unrelated"):
        head = [t[reason]]
    else:
        head = [s.where(role, lang) for s in verdict.silent[:1]] or [_voiced(t["not_covered"], role)]
        related = [h.pid for h in hits if h.score >= RELATED_MIN]
        related += [r for s in verdict.silent for r in s.related]
        if set(related) & set(PAY):
            related = [*PAY, *related]
            if not verdict.silent:  # a topic's pointer says it in its own words
                head.append(t["not_set"]["amount"])
        related = list(dict.fromkeys(r for r in related if r in corpus.by_id))
        # a matter that touches a ground of discrimination always shows the reporting point its
        # pointer names, so that someone treated differently for it is not sent away empty-handed
        if verdict.on_ground and REPORTING_POINT in related:
            related = _reporting_point_last(related)
        related = related[:MAX_CITATIONS]
    # a question whose safety score came near the route's names the reporting point, in case it
    # is about unequal treatment after all (a ground topic's pointer says so in its own words)
    mention = verdict.mention and not verdict.on_ground
    if mention:
        related = _reporting_point_last(related)
    cites = [citation(corpus, r, lang) for r in related]
    # what each related provision says, in the asker's voice, so the reader need not parse the
    # verbatim sources to see how far the code goes
    said = [f"- {corpus.summary(c.id, role, lang)} [{i}]" for i, c in enumerate(cites, 1)]
    notes = ["\n".join([t["related"], *said])] if cites else []
    if mention and reason == "not_covered":
        # with no open matter to name, the reporting point leads: someone treated differently is
        # not first told that the code has no answer for them
        head = [_voiced(t["not_covered_mention"], role).format(n=related.index(REPORTING_POINT) + 1)]
    elif mention:
        # the list above has the reporting point's promise in the asker's voice already
        notes.append(_voiced(t["safety_mention_related"], role).format(n=related.index(REPORTING_POINT) + 1))
    return compose_text(Answer(question, lang, "", True, cites, role,
                               [*verdict.reasons, *(["safety_mention"] if mention else [])], track=track,
                               lead=" ".join(dict.fromkeys(head)), notes=notes))


def _list_answer(question: str, lang: str, role: str, hits: list[Hit], corpus: Corpus,
                 track: str | None, party: str | None = None, silent: list[SilentTopic] | None = None,
                 phase: str | None = None, cite_min: float = 0.0, cite_ratio: float = 0.0) -> Answer:
    """Every provision that concerns the party asked about (the asker's own unless `party`
    says otherwise), in the phase the question is about (`phase`, "any" for the whole list;
    without it, the phase most of its best hits share), each cited and summarised in the
    asker's voice; and the pointer of the open topic the question is as likely about
    (`silent`), so the list is not read as settling it. Within a phase, the provisions a
    one-point answer would cite (at most three, by the ranker's citation cut) come first, so
    "what must we arrange before she starts" opens with the training plan and internship
    agreement; the rest keep the checklist's order, which reads best for a request with nothing
    specific in it. The checklist's general part (definitions, the signatories' closing
    declaration) binds no party, so no list shows it; the manifesto's ambitions, commitments of
    the code's signatories, follow a phase's agreements under a line that says so."""
    t = TEXTS[lang]
    party = party or ROLE_AUDIENCE[role]
    groups = {ph: ids for ph, ids in checklist(corpus, AUDIENCE_ROLE[party], track).items() if ph in LIST_PHASES}
    if phase is None:
        phases = [c.phase for h in hits[:3] if (c := corpus.curation.get(h.pid)) is not None]
        best = max(set(phases), key=phases.count) if phases else None
        phase = best if best is not None and phases.count(best) >= 2 else None
    if phase in groups:
        groups = {phase: groups[phase]}
        intro = t["list_intro"][role][party].format(phase=t["list_phase"][phase])
    else:
        intro = t["list_intro"][role][party].format(phase="")
    cites: list[Citation] = []
    lines = [intro]
    lead = {h.pid: i for i, h in enumerate(select(hits, corpus, track, cite_min, cite_ratio)[0])}
    for ph, ids in groups.items():
        if len(groups) > 1:
            lines.append(f"\n{t['phases'][ph]}:")
        agreements = [pid for pid in ids if corpus.by_id[pid].kind != "ambition"]
        ambitions = [pid for pid in ids if corpus.by_id[pid].kind == "ambition"]
        # the manifesto's ambitions bind its signatories, not the party: after the agreements,
        # under a line that says so; within each, stable: the rest keep their order
        for part, headed in ((agreements, False), (ambitions, bool(agreements))):
            if headed and part:
                lines.append(t["list_ambitions"])
            ordered = sorted(part, key=lambda p: lead.get(p, len(lead)))
            said = [corpus.summary(pid, role, lang) for pid in ordered]
            # under that line, without the opening they all share ("One of the manifesto's ambitions is")
            for pid, text in zip(ordered, _after_shared_opening(said) if headed else said, strict=True):
                cites.append(citation(corpus, pid, lang))
                lines.append(f"- {text} [{len(cites)}]")
    scope, stated = _scope(corpus, [c.id for c in cites], [], track, lang, role) if track else ([], [])
    notes = [" ".join(scope)] if scope else []
    for s in silent or []:
        note = s.where(role, lang)
        if s.ground:  # its pointer names the reporting point, which is cited with it
            if REPORTING_POINT not in (shown := [c.id for c in cites]):
                cites.append(citation(corpus, REPORTING_POINT, lang))
                shown.append(REPORTING_POINT)
            note += f" [{shown.index(REPORTING_POINT) + 1}]"
        notes.append(note)
    return compose_text(Answer(question, lang, "", False, cites, role, ["list", *(f"silent:{s.id}" for s in silent or [])],
                               track=track, lead="\n".join(lines), notes=notes, stated=stated))


def section_answer(question: str, lang: str, role: str, pids: list[str], corpus: Corpus,
                   track: str | None) -> Answer:
    """A part of the code asked for by name: each of its provisions with its title and what it
    says in the asker's voice, each cited."""
    cites = [citation(corpus, pid, lang) for pid in pids]
    lines = [TEXTS[lang]["section_contains"], *(
        f"- {c.id} · {corpus.title(c.id, lang) or c.label}: {corpus.summary(c.id, role, lang)} [{i}]"
        for i, c in enumerate(cites, 1))]
    return compose_text(Answer(question, lang, "", False, cites, role, ["named_section"], track=track,
                               lead="\n".join(lines)))


def _next_steps(pids: list[str], role: str, lang: str, corpus: Corpus) -> list[tuple[NextStep, str]]:
    """Where the asker can turn if the rule the answer leads with is not kept, with each step's
    note in the asker's voice (corpus/next_steps.yaml); a step that says no more than a provision
    the answer cites itself is left out."""
    if not pids:
        return []
    return [(step, note) for step in corpus.next_steps
            if pids[0] in step.after and (note := step.note(role, lang))
            and not (step.unless_cited and step.cite in pids)]


def list_offer(role: str, lang: str, party: str | None, phase: str | None) -> str:
    """How to ask for the whole list of `party`'s obligations in `phase` ("any" or None: every
    phase), in the asker's voice, for an answer to one point that may have been meant as that
    request; its example is worded as the list models read such a request."""
    t = TEXTS[lang]
    party = party or ROLE_AUDIENCE[role]
    when = t["list_phase"].get(phase or "any", "")
    intro = t["list_intro"][role][party].format(phase=when).rstrip(":")
    return t["list_offer"][role].format(what=intro[:1].lower() + intro[1:],
                                        example=t["list_example"][party].format(phase=when))


def with_reporting_point(answer: Answer, corpus: Corpus, why: str = "safety_earlier") -> Answer:
    """The answer with the reporting point cited after its own citations, and a paragraph asking
    whether the question is also about unequal treatment: by default the one raised earlier in
    the chat (a student who described it and then asks about something else is not left without
    it); `why` names the text and the reason ("safety_mention": the question's own safety score
    came near the route's)."""
    answer.citations = [*answer.citations, citation(corpus, REPORTING_POINT, answer.language)]
    note = _voiced(TEXTS[answer.language][why], answer.role).format(n=len(answer.citations))
    answer.notes = [*answer.notes, note]
    answer.reasons.append(why)
    return compose_text(answer)


def _shared_opening(texts: list[str]) -> int:
    """How many words every text opens with ("One of the manifesto's ambitions is"), when that
    is at least three and each says more after it; else 0."""
    split = [t.replace("’", "'").split(" ") for t in texts]
    n = 0
    while all(len(w) > n + 1 for w in split) and len({w[n] for w in split}) == 1:
        n += 1
    return n if n >= 3 else 0


def _after_shared_opening(texts: list[str]) -> list[str]:
    """Each text without the words all of them open with (`_shared_opening`), from a capital;
    one text as it is."""
    skip = _shared_opening(texts) if len(texts) > 1 else 0
    rest = [" ".join(text.split(" ")[skip:]) for text in texts]
    return [f"{text[:1].upper()}{text[1:]}" for text in rest]


def _lead(pids: list[str], role: str, lang: str, corpus: Corpus) -> str:
    """Each cited provision's summary in the asker's voice with its number; the items of a
    lead-in cited with it ("De ambities van dit manifest zijn:") are listed under it, without
    the opening they all share."""
    number = {pid: i for i, pid in enumerate(pids, 1)}
    items = {pid: [c for c in corpus.by_id[pid].children if c in number]
             for pid in pids if corpus.by_id[pid].announces_items}
    listed = {c for cs in items.values() for c in cs}
    blocks: list[str] = []
    for pid in pids:
        if pid in listed:
            continue
        sentence = f"{corpus.summary(pid, role, lang)} [{number[pid]}]"
        if blocks and "\n- " not in blocks[-1]:  # prose runs on; after a list, a new line
            blocks[-1] += " " + sentence
        else:
            blocks.append(sentence)
        if kids := items.get(pid):
            lines = _after_shared_opening([corpus.summary(c, role, lang) for c in kids])
            blocks[-1] += "".join(f"\n- {line} [{number[c]}]" for c, line in zip(kids, lines, strict=True))
    return "\n".join(blocks)


def compose(
    question: str,
    lang: str,
    role: str,
    hits: list[Hit],
    verdict: Verdict,
    corpus: Corpus,
    track: str | None,
    cite_min: float = 0.0,
    cite_ratio: float = 0.0,
    named: bool = False,
) -> Answer:
    """Build the answer for one question from the ranked hits and the decision; `named`: the
    asker named the provision, which is shown alone."""
    t = TEXTS[lang]
    if verdict.abstain:
        return _abstained(question, lang, role, hits, verdict, corpus, track)
    if "list" in verdict.reasons:
        return _list_answer(question, lang, role, hits, corpus, track, verdict.party, verdict.silent[:1],
                            verdict.phase, cite_min, cite_ratio)

    chosen, other = select(hits, corpus, track, cite_min, cite_ratio)
    by_pid = {h.pid: h for h in hits}
    pids = [h.pid for h in chosen]
    notes: list[str] = []
    routed = bool(ROUTE_REASONS & set(verdict.reasons))
    if routed:
        route = safety_route(role)
        # the safety model alone: the route's first provision that concerns the asker (a student's
        # or the school's reporting point; a company's own duty of fair treatment), then the best
        # answer to what was asked, then the rest of the route, which never pushes that answer out
        # of sight; only the question's words point to unequal treatment: the route follows what
        # the ranker found, unless the decision alone would refuse the question
        audience = ROLE_AUDIENCE[role]
        first = next((p for p in route if (c := corpus.curation.get(p)) and audience in c.audiences), route[0])
        if not verdict.answerable:  # what merely resembles a question the decision would refuse
            pids = [h.pid for h in chosen if h.score >= RELATED_MIN]
        order = ([first, *pids[:1], *route, *pids] if "safety" in verdict.reasons or not verdict.answerable
                 else [*pids, *route])
        pids = list(dict.fromkeys(order))[:MAX_SAFETY_CITATIONS]
        notes.append(safety_note(t["safety"][role], pids))
    if _about_pay(pids, by_pid) and not named:  # a pay question: both pay rules, and no amount is set
        pids = list(dict.fromkeys([*pids, *(p for p in PAY if track != "duaal")]))
        if not any(s.id in t["not_set"] for s in verdict.silent[:1]):  # its pointer says so itself
            notes.append(t["not_set"]["amount"])
    cites = [citation(corpus, pid, lang, by_pid[pid].score if pid in by_pid else 0.0) for pid in pids]
    # a rule for the other track is cited too, after the rest, with a note that it does not apply;
    # a pay rule set aside brings the other one, so a pay question names both either way
    if set(other) & set(PAY):
        other = [*other, *PAY]
    other = [pid for pid in dict.fromkeys(other) if pid not in pids]
    cites += [citation(corpus, pid, lang, by_pid[pid].score if pid in by_pid else 0.0) for pid in other]
    steps = [] if named or routed else _next_steps(pids, role, lang, corpus)
    extra = list(dict.fromkeys(s.cite for s, _ in steps if s.cite and s.cite not in (*pids, *other)))
    # the pointer of a matter that touches a ground of discrimination names the reporting point,
    # which is cited with it
    grounded = not routed and verdict.on_ground
    if grounded and REPORTING_POINT not in (*pids, *other, *extra):
        extra.append(REPORTING_POINT)
    cites += [citation(corpus, pid, lang) for pid in extra]
    shown = [*pids, *other, *extra]
    scope, stated = _scope(corpus, pids, other, track, lang, role)
    # the topic's pointer; in a route answer, only what it adds beside the reporting point
    pointer = [n for s in verdict.silent[:1] if (n := s.route_note(role, lang) if routed else s.where(role, lang))]
    if grounded and pointer:
        pointer[-1] += f" [{shown.index(REPORTING_POINT) + 1}]"
    paragraphs: list[str] = []
    if OPEN_FIRST in verdict.reasons and pointer and not routed:
        # more likely about the open matter than answered, and no provision more likely than not
        # to answer: where that matter is settled comes first, and what the code does say follows
        # as related, listed as in a refusal, so that no rule reads as settling that matter
        said = [f"- {corpus.summary(pid, role, lang)} [{n}]" for n, pid in enumerate(pids, 1)]
        lead, paragraphs = pointer[0], ["\n".join([t["related"], *said])]
    else:
        lead = _lead(pids, role, lang, corpus)
        notes += pointer
    paragraphs += [" ".join(scope)] if scope else []
    paragraphs += [" ".join(dict.fromkeys(notes))] if notes else []
    paragraphs += [" ".join(_marked(note, shown) for _, note in steps)] if steps else []
    if verdict.offer_list:
        paragraphs.append(list_offer(role, lang, verdict.party, verdict.phase))
    answer = compose_text(Answer(question, lang, "", False, cites, role, list(verdict.reasons), track=track,
                                 lead=lead, notes=paragraphs, stated=stated))
    # a question whose safety score came near the route's names the reporting point after the
    # answer's own sources, in case it is about unequal treatment after all
    if verdict.mention and not routed and REPORTING_POINT not in shown:
        return with_reporting_point(answer, corpus, "safety_mention")
    return answer
