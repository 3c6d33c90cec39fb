"""Coding a case with less typing: the form pre-filled from what is already known, and the
case's history told in words.

Before a case is first coded, its form starts from the screening decisions (the mode the
analysts gave when including) and the relevance engine's reading of the evidence pages
(direction, mode, ICT channels, service areas, the places the evidence names, the earliest
date); every suggested value is marked as such, and nothing is stored until the analyst
saves. Once coded, the form shows the coding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review.codebook import Codebook
from review.screening import Evidence
from storage.models import Case, CaseEvent, Decision

__all__ = ["CasePlace", "History", "case_places", "history", "suggested_coding"]

# The engine's identifier kinds as the default codebook's ICT channels (values a codebook
# does not have are dropped).
_IDENTIFIER_CHANNELS = {
    "telegram": "telegram", "telegram_bot": "bot", "telegram_chat": "chat", "website": "website", "jar": "crowdfunding",
    "card": "crowdfunding", "phone": "phone", "email": "email", "instagram": "social_media", "facebook": "social_media",
}


@dataclass(frozen=True)
class CasePlace:
    code: str
    name: str
    pages: int  # evidence pages that name it


def case_places(evidence: Sequence[Evidence]) -> list[CasePlace]:
    """The places the case's own evidence names, the most named first."""
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    for item in evidence:
        for place in (item.page.relevance or {}).get("places", ()):
            code = place.get("code")
            if code:
                names.setdefault(code, place.get("name") or code)
                counts[code] += 1
    return [CasePlace(code, names[code], n) for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], names[kv[0]]))]


def suggested_coding(session: Session, case: Case, evidence: Sequence[Evidence], codebook: Codebook) -> dict[str, Any]:
    """Field name -> value the form starts from: the coding, else the suggestions."""
    if case.fields:
        return dict(case.fields)
    verdicts = [item.page.relevance or {} for item in evidence]
    ids = [item.candidate.id for item in evidence]
    given = session.scalars(select(Decision.fields).where(Decision.candidate_id.in_(ids), Decision.decision == "include"))
    screening_modes = Counter(fields.get("mode") for fields in given if fields and fields.get("mode"))
    found: dict[str, Any] = {}
    directions = Counter(v.get("direction") for v in verdicts if v.get("direction"))
    modes = screening_modes or Counter(v.get("mode") for v in verdicts if v.get("mode"))
    channels = {c for v in verdicts for c in v.get("ict", ())} | {
        _IDENTIFIER_CHANNELS[i["kind"]] for v in verdicts for i in v.get("identifiers", ()) if i.get("kind") in _IDENTIFIER_CHANNELS
    }
    services = {s for v in verdicts for s in v.get("services", ())}
    places = case_places(evidence)
    dates = sorted(d for d in (item.page.event_date for item in evidence) if d)
    for field in codebook.fields:
        if field.name == "direction" and directions:
            found[field.name] = directions.most_common(1)[0][0]
        elif field.name == "mode" and modes:
            found[field.name] = modes.most_common(1)[0][0]
        elif field.name == "ict_channels":
            found[field.name] = [value for value in field.values if value in channels]
        elif field.name == "service_area":
            found[field.name] = [value for value in field.values if value in services]
        elif field.type == "place" and places:
            found[field.name] = places[0].code
        elif field.name == "start_date" and dates:
            found[field.name] = dates[0]
    # Only what the codebook allows: a study's own codebook may not have the engine's values.
    return {
        name: value
        for name, value in found.items()
        if value and (codebook.field(name).type not in ("choice",) or value in codebook.field(name).values)
    }


@dataclass(frozen=True)
class History:
    when: str
    user: str
    text: str


def history(events: Sequence[CaseEvent], codebook: Codebook, titles: dict[int, str]) -> list[History]:
    """The case's events as sentences: which candidate, which values (by their labels)."""
    def candidate(cid: Any) -> str:
        return f"candidate {cid} ({titles[cid]})" if cid in titles and titles[cid] else f"candidate {cid}"

    lines = []
    for event in events:
        detail = event.detail or {}
        if event.action == "created":
            text = f"opened the case from {candidate(detail.get('candidate_id'))}"
        elif event.action == "attached":
            text = f"added {candidate(detail.get('candidate_id'))} as evidence"
            if detail.get("chosen_by"):
                text += " (case chosen: " + ", ".join(f"{who}: {choice}" for who, choice in sorted(detail["chosen_by"].items())) + ")"
        elif event.action == "coded":
            values = detail.get("fields") or {}
            parts = [f"{f.label}: {f.shown(values.get(f.name))}" for f in codebook.fields if f.shown(values.get(f.name))]
            text = "coded it: " + ("; ".join(parts) if parts else "every field left empty")
        elif event.action == "merged":
            if "into" in detail:
                text = f"merged this case into case {detail['into']}"
            else:
                moved = ", ".join(candidate(c) for c in detail.get("candidates", ()))
                text = f"merged case {detail.get('from')} into this one" + (f", moving {moved}" if moved else "")
        elif event.action == "split":
            moved = ", ".join(candidate(c) for c in detail.get("candidates", ()))
            text = f"split {moved} off to case {detail['to']}" if "to" in detail else f"made this case from {moved} of case {detail.get('from')}"
        else:
            text = event.action
        lines.append(History(event.created_at.isoformat(timespec="minutes"), event.user, text))
    return lines
