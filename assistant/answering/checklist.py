"""Which provisions bind or concern a party, by phase and track: the checklist tab and the
answer to "what must we do as a company before the placement?" both read this."""

from __future__ import annotations

from assistant.corpus.corpus import Corpus
from assistant.domain import PHASES, ROLE_AUDIENCE, ROLES
from assistant.errors import InputError

CHECKLIST_TRACKS = ("vd", "duaal")
CHECKLIST_KINDS = frozenset({"agreement", "item", "ambition", "definition", "closing"})
CHECKLIST_SKIP = frozenset({"slot.ondertekend"})


def checklist(corpus: Corpus, role: str, track: str | None) -> dict[str, list[str]]:
    """Provisions that concern a role's audience and apply to a track, grouped by phase.

    Lead-ins ("… zorgt in ieder geval:") are left out for their items; so are footnotes,
    the introduction and the signature line. Phases in order: before, during,
    discrimination, general; empty phases are left out. No track: rules of both tracks.
    Within a phase, the code's order, except that the manifesto's ambitions (commitments of its
    signatories, not agreements that bind a party) come after the agreements.
    """
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}")
    if track is not None and track not in CHECKLIST_TRACKS:
        raise InputError(f"unknown track {track!r}")
    audience = ROLE_AUDIENCE[role]
    groups: dict[str, list[str]] = {phase: [] for phase in PHASES}
    for p in corpus.provisions:
        c = corpus.curation.get(p.id)
        if c is None or p.kind not in CHECKLIST_KINDS or p.id in CHECKLIST_SKIP:
            continue
        if p.gives_way_to_items:
            continue
        if audience in c.audiences and (track is None or c.track in ("all", track)):
            groups[c.phase].append(p.id)
    return {phase: sorted(ids, key=lambda pid: corpus.by_id[pid].kind == "ambition")
            for phase, ids in groups.items() if ids}
