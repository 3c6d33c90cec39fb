"""Screening and coding: decisions are appended, never changed; states are derived.

A candidate's status comes from its decision log: with single screening the latest
decision counts; with dual screening the latest decision of each analyst counts, two that
agree settle it, two that differ are a conflict until an admin resolves it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.core.errors import BadInput
from review.agreement import AlphaResult, KappaResult, alpha_per_field, pairwise_kappa
from review.codebook import Codebook
from storage.models import Candidate, Case, CaseEvent, CaseEvidence, Decision, Page, PageIdentifier, PageVersion, utcnow

__all__ = [
    "SCREENING",
    "CaseSuggestion",
    "agreement_from_log",
    "code_case",
    "derive_status",
    "include_in_case",
    "merge_cases",
    "record_decision",
    "settle_case",
    "split_case",
    "suggest_cases",
]

SCREENING = ("include", "exclude", "maybe")
MODES = ("co-design", "co-delivery", "co-monitoring")


def _seen_version(session: Session, candidate: Candidate, version_id: int | None) -> int | None:
    """The version the analyst decided on: the one the form showed, when it is a version of
    this candidate's page, else the page's latest (None for a page without versions)."""
    versions = {v.id: v for v in candidate.page.page_versions}
    if version_id is not None:
        if version_id not in versions:
            raise BadInput(f"version {version_id} is not a version of candidate {candidate.id}'s page")
        return version_id
    return candidate.page.page_versions[-1].id if candidate.page.page_versions else None


def derive_status(decisions: Sequence[Decision], dual: bool) -> str:
    """unscreened | include | exclude | maybe | awaiting_second | conflict."""
    screening = sorted((d for d in decisions if d.decision in SCREENING + ("resolve",)), key=lambda d: (d.created_at, d.id))
    if not screening:
        return "unscreened"
    resolutions = [d for d in screening if d.decision == "resolve"]
    if resolutions:
        return resolutions[-1].fields.get("outcome", "maybe")
    if not dual:
        return screening[-1].decision
    latest: dict[str, str] = {}
    for decision in screening:
        latest[decision.user] = decision.decision
    if len(latest) < 2:
        return "awaiting_second"
    return next(iter(latest.values())) if len(set(latest.values())) == 1 else "conflict"


def record_decision(
    session: Session,
    candidate_id: int,
    user: str,
    decision: str,
    *,
    reason: str | None = None,
    note: str | None = None,
    mode: str | None = None,
    allowed_reasons: Sequence[str] = (),
    dual: bool = False,
    version_id: int | None = None,
    case_choice: str | None = None,
    case_name: str | None = None,
) -> Decision:
    """Append a screening decision on the page version the analyst saw (`version_id`, else
    the latest); an include keeps the analyst's case choice (an open case's id, or "new"
    with a name) for when the candidate's case is made."""
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise BadInput(f"no candidate {candidate_id}")
    if decision not in SCREENING:
        raise BadInput(f"a decision is one of {', '.join(SCREENING)}")
    if decision == "exclude" and reason not in allowed_reasons:
        raise BadInput("an exclusion needs one of the configured reasons")
    if mode is not None and mode not in MODES:
        raise BadInput(f"a mode is one of {', '.join(MODES)}")
    fields: dict[str, Any] = {"mode": mode} if mode else {}
    if decision == "include":
        choice = (case_choice or "new").strip()
        if choice != "new" and not (choice.isascii() and choice.isdigit() and len(choice) < 19):
            raise BadInput("the case to attach to is an open case's number, or new")
        fields["case"] = choice
        if choice == "new" and (case_name or "").strip():
            fields["case_name"] = case_name.strip()[:500]
    row = Decision(
        candidate_id=candidate_id,
        user=user,
        decision=decision,
        reason=reason if decision == "exclude" else None,
        note=(note or "").strip()[:4000] or None,
        fields=fields,
        created_at=utcnow(),
        page_version_id=_seen_version(session, candidate, version_id),
    )
    session.add(row)
    session.flush()
    refresh_status(session, candidate, dual)
    return row


def resolve_conflict(session: Session, candidate_id: int, admin: str, outcome: str, note: str | None, dual: bool) -> Decision:
    if outcome not in SCREENING:
        raise BadInput(f"an outcome is one of {', '.join(SCREENING)}")
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise BadInput(f"no candidate {candidate_id}")
    if candidate.status != "conflict":
        raise BadInput(f"candidate {candidate_id} is not in conflict (it is {candidate.status})")
    row = Decision(
        candidate_id=candidate_id, user=admin, decision="resolve", note=(note or "").strip()[:4000] or None,
        fields={"outcome": outcome}, created_at=utcnow(), page_version_id=_seen_version(session, candidate, None),
    )
    session.add(row)
    session.flush()
    refresh_status(session, candidate, dual)
    return row


def refresh_status(session: Session, candidate: Candidate, dual: bool) -> None:
    decisions = list(session.scalars(select(Decision).where(Decision.candidate_id == candidate.id)))
    candidate.status = derive_status(decisions, dual)


@dataclass(frozen=True)
class CaseSuggestion:
    case: Case
    reasons: list[str]


def suggest_cases(session: Session, candidate: Candidate, limit: int = 5) -> list[CaseSuggestion]:
    """Cases that share an identifier (Telegram handle, jar, site, phone...) with the
    candidate's page, then cases with a similar name."""
    mine = {(row.kind, row.value) for row in session.scalars(select(PageIdentifier).where(PageIdentifier.page_id == candidate.page_id))}
    found: dict[int, CaseSuggestion] = {}
    if mine:
        values = [value for _, value in mine]
        query = (
            select(Case, PageIdentifier.kind, PageIdentifier.value)
            .join(CaseEvidence, CaseEvidence.case_id == Case.id)
            .join(Candidate, Candidate.id == CaseEvidence.candidate_id)
            .join(PageIdentifier, PageIdentifier.page_id == Candidate.page_id)
            .where(PageIdentifier.value.in_(values), Case.merged_into_id.is_(None))
        )
        for case, kind, value in session.execute(query):
            if (kind, value) in mine and kind not in ("website",):
                suggestion = found.setdefault(case.id, CaseSuggestion(case, []))
                label = f"shares {kind} {value}"
                if label not in suggestion.reasons:
                    suggestion.reasons.append(label)
    title = (candidate.page.title or "").lower()
    if title:
        for case in session.scalars(select(Case).where(Case.merged_into_id.is_(None)).order_by(Case.id.desc()).limit(500)):
            ratio = difflib.SequenceMatcher(None, title, case.name.lower()).ratio()
            if ratio >= 0.6:
                found.setdefault(case.id, CaseSuggestion(case, [])).reasons.append(f"similar name ({ratio:.0%})")
    ranked = sorted(found.values(), key=lambda s: (-len(s.reasons), s.case.id))
    return ranked[:limit]


def settle_case(session: Session, candidate: Candidate, user: str) -> Case | None:
    """Once a candidate's status is include (one analyst, two who agree, or an admin's
    resolution), put it into a case, once: the case its includers chose (an existing case
    either chose, else a new one with the first includer's name for it), on the newest page
    version they decided on. Returns the case, or None when there is nothing to do."""
    if candidate.status != "include" or session.scalar(select(CaseEvidence.id).where(CaseEvidence.candidate_id == candidate.id).limit(1)):
        return None
    decisions = list(session.scalars(select(Decision).where(Decision.candidate_id == candidate.id).order_by(Decision.id)))
    latest: dict[str, Decision] = {}
    for decision in decisions:
        if decision.decision in SCREENING:
            latest[decision.user] = decision
    includes = sorted((d for d in latest.values() if d.decision == "include"), key=lambda d: d.id)
    choices = [str(d.fields.get("case", "new")) for d in includes]
    existing = next((int(c) for c in choices if c.isdigit() and _open_case(session, int(c))), None)
    name = next((d.fields.get("case_name") for d in includes if d.fields.get("case_name")), None)
    versions = [d.page_version_id for d in includes if d.page_version_id] or [d.page_version_id for d in decisions if d.page_version_id]
    chosen_by = {d.user: str(d.fields.get("case", "new")) for d in includes}
    return include_in_case(session, candidate.id, user, existing, name, max(versions, default=None), chosen_by)


def _open_case(session: Session, case_id: int) -> bool:
    case = session.get(Case, case_id)
    return case is not None and case.merged_into_id is None


def include_in_case(
    session: Session,
    candidate_id: int,
    user: str,
    case_id: int | None,
    name: str | None,
    version_id: int | None = None,
    chosen_by: dict[str, str] | None = None,
) -> Case:
    """Attach an included candidate to a case, or open a new case for it, citing the page
    version the inclusion was decided on (else the latest)."""
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise BadInput(f"no candidate {candidate_id}")
    if case_id:
        case = session.get(Case, case_id)
        if case is None or case.merged_into_id is not None:
            raise BadInput(f"no open case {case_id}")
        action = "attached"
    else:
        case = Case(name=(name or candidate.page.title or f"case from candidate {candidate_id}").strip()[:500])
        session.add(case)
        session.flush()
        session.add(CaseEvent(case_id=case.id, user=user, action="created", detail={"candidate_id": candidate_id}))
        action = "attached"
    if version_id is None:
        version_id = _seen_version(session, candidate, None)
    exists = session.scalar(select(CaseEvidence).where(CaseEvidence.case_id == case.id, CaseEvidence.candidate_id == candidate_id))
    if exists is None:
        session.add(CaseEvidence(case_id=case.id, candidate_id=candidate_id, added_by=user, page_version_id=version_id))
        detail: dict[str, Any] = {"candidate_id": candidate_id}
        if chosen_by:
            detail["chosen_by"] = chosen_by
        session.add(CaseEvent(case_id=case.id, user=user, action=action, detail=detail))
    session.flush()
    return case


def code_case(session: Session, case_id: int, user: str, codebook: Codebook, form: dict[str, list[str]]) -> Decision:
    """Code a case from the form generated by the codebook; the coding act is a decision."""
    case = session.get(Case, case_id)
    if case is None or case.merged_into_id is not None:
        raise BadInput(f"no open case {case_id}")
    values: dict[str, Any] = {}
    problems = []
    for field in codebook.fields:
        try:
            values[field.name] = field.parse(form.get(field.name, []))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise BadInput("; ".join(problems))
    name = (form.get("name") or [case.name])[0].strip()
    if name:
        case.name = name[:500]
    case.fields = values
    decision = Decision(candidate_id=None, case_id=case.id, user=user, decision="code", fields=values, created_at=utcnow())
    session.add(decision)
    session.add(CaseEvent(case_id=case.id, user=user, action="coded", detail={"fields": values}))
    session.flush()
    return decision


def merge_cases(session: Session, target_id: int, source_id: int, user: str) -> Case:
    if target_id == source_id:
        raise BadInput("a case cannot be merged into itself")
    target, source = session.get(Case, target_id), session.get(Case, source_id)
    if target is None or source is None or target.merged_into_id or source.merged_into_id:
        raise BadInput("both cases must exist and be open")
    moved = []
    for evidence in session.scalars(select(CaseEvidence).where(CaseEvidence.case_id == source.id)):
        clash = session.scalar(select(CaseEvidence).where(CaseEvidence.case_id == target.id, CaseEvidence.candidate_id == evidence.candidate_id))
        if clash is None:
            evidence.case_id = target.id
            moved.append(evidence.candidate_id)
        else:
            session.delete(evidence)
    source.merged_into_id = target.id
    session.add(CaseEvent(case_id=target.id, user=user, action="merged", detail={"from": source.id, "candidates": moved}))
    session.add(CaseEvent(case_id=source.id, user=user, action="merged", detail={"into": target.id}))
    session.flush()
    return target


def split_case(session: Session, case_id: int, candidate_ids: Sequence[int], user: str, name: str) -> Case:
    case = session.get(Case, case_id)
    if case is None or case.merged_into_id is not None:
        raise BadInput(f"no open case {case_id}")
    evidence = list(session.scalars(select(CaseEvidence).where(CaseEvidence.case_id == case.id, CaseEvidence.candidate_id.in_(candidate_ids))))
    total = session.scalar(select(func.count()).select_from(CaseEvidence).where(CaseEvidence.case_id == case.id))
    if not evidence or len(evidence) == total:
        raise BadInput("split off some of the case's evidence, not none and not all")
    new = Case(name=name.strip()[:500] or f"split of {case.name}")
    session.add(new)
    session.flush()
    for row in evidence:
        row.case_id = new.id
    detail = {"candidates": [row.candidate_id for row in evidence]}
    session.add(CaseEvent(case_id=case.id, user=user, action="split", detail=detail | {"to": new.id}))
    session.add(CaseEvent(case_id=new.id, user=user, action="split", detail=detail | {"from": case.id}))
    session.flush()
    return new


@dataclass(frozen=True)
class Evidence:
    """A candidate page that is evidence of a case, with the version it was screened on and
    the page's latest version (newer when the page changed since: re-check it)."""

    candidate: Candidate
    page: Page
    pinned: PageVersion | None
    latest: PageVersion | None

    @property
    def changed(self) -> bool:
        return self.pinned is not None and self.latest is not None and self.latest.number > self.pinned.number


def evidence_pages(session: Session, case_id: int) -> list[Evidence]:
    query = (
        select(Candidate, Page, CaseEvidence.page_version_id)
        .join(CaseEvidence, CaseEvidence.candidate_id == Candidate.id)
        .join(Page, Page.id == Candidate.page_id)
        .where(CaseEvidence.case_id == case_id)
        .order_by(Page.event_date, Page.url)
    )
    rows = []
    for candidate, page, version_id in session.execute(query):
        versions = page.page_versions
        pinned = next((v for v in versions if v.id == version_id), None)
        rows.append(Evidence(candidate, page, pinned, versions[-1] if versions else None))
    return rows


def agreement_from_log(session: Session) -> tuple[dict[tuple[str, str], KappaResult], dict[str, AlphaResult]]:
    """Cohen's kappa per pair of analysts over their latest screening decisions, and
    Krippendorff's alpha per codebook field over their latest codings of each case."""
    latest: dict[tuple[str, int], str] = {}
    screening = select(Decision.user, Decision.candidate_id, Decision.decision).where(Decision.decision.in_(SCREENING)).order_by(Decision.id)
    for user, candidate_id, decision in session.execute(screening):
        latest[(user, candidate_id)] = decision
    kappas = pairwise_kappa((user, item, label) for (user, item), label in latest.items())
    codings: dict[tuple[str, int], dict[str, Any]] = {}
    for decision in session.scalars(select(Decision).where(Decision.decision == "code").order_by(Decision.id)):
        codings[(decision.user, decision.case_id or 0)] = decision.fields
    alphas = alpha_per_field(
        # A field left empty is missing, not a value both coders agree on.
        (user, case_id, name, (tuple(value) or None) if isinstance(value, list) else value)
        for (user, case_id), fields in codings.items()
        for name, value in fields.items()
    )
    return kappas, alphas
